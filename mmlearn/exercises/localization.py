"""Checkers for notebook 07 (sound-source localization): the audio-visual attention map, EZ-VSL's loss, cIoU."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .common import call, close, fail, passed


def audio_visual_map(fn, exercise: str = "07.1") -> None:
    """Check fn(cells (B, L, D), audio (B, D)) -> (B, L): softmax over cells of ReLU(cosine(cell, audio)).
    The inputs are *not* unit vectors, so a plain dot product is caught."""
    from ..localization import attention_map

    gen = torch.Generator().manual_seed(0)
    for b, l, d in [(3, 16, 8), (2, 9, 5)]:
        cells = torch.randn(b, l, d, generator=gen, dtype=torch.float64) * torch.rand(b, l, 1, generator=gen, dtype=torch.float64).mul(3).add(0.2)
        audio = torch.randn(b, d, generator=gen, dtype=torch.float64) * 2.5
        unit_cells, unit_audio = F.normalize(cells, dim=-1), F.normalize(audio, dim=-1)
        cos = torch.einsum("bld,bd->bl", unit_cells, unit_audio)
        want = attention_map(unit_cells, unit_audio)
        out = call(exercise, fn, cells.clone(), audio.clone())
        if not torch.is_tensor(out):
            fail(exercise, f"return a tensor, got {type(out).__name__}.")
        if out.shape == (b, l, d):
            fail(exercise, "one number per cell: sum the product over the feature axis D (a dot product of unit vectors).")
        if out.shape != (b, l):
            fail(exercise, f"expected shape (B, L) = {(b, l)}, got {tuple(out.shape)}.")
        if close(out, cos):
            fail(exercise, "that is the cosine itself; the map is softmax over the cells of ReLU(cosine).")
        if close(out, F.relu(cos)):
            fail(exercise, "ReLU(cosine) is not yet a map: take a softmax over the cells so each row sums to 1.")
        raw = torch.einsum("bld,bd->bl", cells, audio)
        if close(out, torch.softmax(F.relu(raw), dim=1)) or close(out, torch.softmax(raw, dim=1)):
            fail(exercise, "L2-normalise each cell and the audio vector over the feature axis first: the score is a "
                           "cosine, not a raw dot product (F.normalize(x, dim=-1)).")
        if close(out, torch.softmax(cos, dim=1)):
            fail(exercise, "apply the ReLU before the softmax: cells that point away from the sound all get the "
                           "same (smallest) weight, instead of being ranked by how far away they point.")
        if close(out, torch.softmax(F.relu(cos), dim=0)):
            fail(exercise, "the softmax runs over the cells of one image (dim=1), not over the batch.")
        if close(out, torch.sigmoid(cos)) or close(out, torch.sigmoid(F.relu(cos))):
            fail(exercise, "a sigmoid scores each cell on its own; Senocak's map is a softmax over the cells.")
        if not close(out.sum(1), torch.ones(b, dtype=out.dtype)):
            fail(exercise, "each image's map should sum to 1 over its cells.")
        if not close(out, want, 1e-6):
            fail(exercise, "wrong values: softmax over cells of ReLU(<cell / |cell|, audio / |audio|>).")
    passed(exercise, "softmax over cells of ReLU(cosine) matches the reference, on vectors that are not unit length.")


def ezvsl_loss(fn, exercise: str = "07.2") -> None:
    """Check fn(cells (B, L, D), audio (B, D), tau) -> scalar: EZ-VSL's multiple-instance contrastive loss, each image
    scored against each clip through its best cell, S[i, j] = max_l <cells[i, l], audio[j]> / tau, then the
    cross-entropy towards the diagonal over clips (rows) and over images (columns), averaged (or summed, as
    EZ-VSL's model.py does: the same loss up to a factor 2, which Adam's step size absorbs). B != L and two
    temperatures, so that a max over the wrong axis and a misplaced tau give other values."""
    from ..localization import ezvsl_loss as reference

    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(5)
    for b, l, d, tau in [(5, 9, 6, 0.2), (5, 7, 4, 0.07)]:
        cells = F.normalize(torch.randn(b, l, d, generator=gen, dtype=torch.float64), dim=-1)
        audio = F.normalize(torch.randn(b, d, generator=gen, dtype=torch.float64), dim=-1)
        want = reference(cells, audio, tau)
        out = call(exercise, fn, cells.clone(), audio.clone(), tau)
        if not torch.is_tensor(out) or out.numel() != 1:
            fail(exercise, "return one number, the loss of the batch (a 0-dim tensor).")
        out = out.reshape(())
        dots = torch.einsum("ild,jd->ijl", cells, audio)                      # (image, clip, cell)
        best = dots.amax(2)
        ce = lambda s: (F.cross_entropy(s, labels[:len(s)]), F.cross_entropy(s.T, labels[:len(s)]))  # noqa: E731
        mean_pool, soft_pool = ce(dots.mean(2) / tau), ce(torch.logsumexp(dots / tau, 2))
        rows, cols = ce(best / tau)
        if close(out, sum(mean_pool) / 2) or close(out, mean_pool[0]) or close(out, mean_pool[1]):
            fail(exercise, "that pools the cells by their mean; EZ-VSL matches an image and a clip through the "
                           "image's *best* cell, a max over the cells (the sounding object may cover one cell of 64).")
        if close(out, sum(soft_pool) / 2):
            fail(exercise, "a logsumexp over the cells is a soft maximum; EZ-VSL takes the max itself (amax over L).")
        wrong_axis = dots.amax(1) / tau                                        # max over the clips: (image, cell)
        if close(out, F.cross_entropy(wrong_axis, labels[:b])):
            fail(exercise, "the max runs over the cells of one image (the L axis of the (B, B, L) scores), not over the batch.")
        if close(out, rows) or close(out, cols):
            fail(exercise, "that is one direction only. The loss is symmetric: each image must pick its own clip "
                           "among the batch's clips (rows of S) *and* each clip its own image (columns of S); "
                           "average the two cross-entropies.")
        if close(out, sum(ce(best)) / 2):
            fail(exercise, "divide the scores by the temperature tau before the cross-entropy: cosines live in "
                           "[-1, 1], too flat a softmax on their own.")
        if close(out, sum(ce(best / tau ** 2)) / 2):
            fail(exercise, "tau is applied twice: divide the scores by tau once.")
        if close(out, sum(ce(best * tau)) / 2):
            fail(exercise, "divide the scores by tau, do not multiply: a small tau sharpens the softmax.")
        if close(out, -best.diagonal().mean() / tau) or close(out, -best.diagonal().mean()):
            fail(exercise, "raising the own pair's score alone is not contrastive: the other clips of the batch "
                           "are the negatives, through a cross-entropy over each row and each column of S.")
        if not (close(out, want, 1e-6) or close(out, 2 * want, 1e-6)):        # EZ-VSL's own code sums the two
            fail(exercise, "wrong value: S = amax over cells of einsum('ild,jd->ijl') / tau, then "
                           "(cross_entropy(S, arange(B)) + cross_entropy(S.T, arange(B))) / 2.")
    passed(exercise, "max over cells, divided by tau, symmetric InfoNCE (averaged or summed): matches the reference "
                    "at two temperatures.")


def ciou(fn, exercise: str = "07.3") -> None:
    """Check fn(pred (N, H, W) bool, gt (N, H, W) in [0, 1]) -> (N,) consensus IoU, on maps where annotators
    disagree (gt 0.5), so that it differs from the plain IoU of gt > 0."""
    from ..metrics import ciou as reference

    gen = torch.Generator().manual_seed(0)
    gt = torch.zeros(4, 8, 8, dtype=torch.float64)
    for i in range(4):  # two annotator boxes per image: where both agree 1, where one marked 0.5
        for _ in range(2):
            x0, y0 = torch.randint(0, 5, (2,), generator=gen).tolist()
            gt[i, y0:y0 + 3 + i % 2, x0:x0 + 4] += 1
    gt = (gt / 2).clamp(max=1)
    pred = torch.rand(4, 8, 8, generator=gen) > 0.6
    p, g = pred.double(), gt
    want = reference(pred, gt)
    out = call(exercise, fn, pred.clone(), gt.clone())
    if not torch.is_tensor(out):
        fail(exercise, f"return a tensor, got {type(out).__name__}.")
    out = out.double()
    if out.ndim == 0:
        fail(exercise, "one cIoU per image, shape (N,): sum over the pixels of each map, not over the batch.")
    if out.shape != want.shape:
        fail(exercise, f"expected shape (N,) = {tuple(want.shape)}, got {tuple(out.shape)}.")
    inter = (p * g).flatten(1).sum(1)
    hard = (g > 0).double()
    if close(out, (p * hard).flatten(1).sum(1) / ((p + hard) > 0).double().flatten(1).sum(1)):
        fail(exercise, "that is the IoU of the box union (gt > 0). cIoU keeps the annotators' consensus: the "
                       "intersection is sum(pred * gt), and the denominator sum(gt) + sum(pred * [gt == 0]).")
    if close(out, inter / g.flatten(1).sum(1)):
        fail(exercise, "that is recall, sum(pred * gt) / sum(gt): add the false alarms, sum(pred * [gt == 0]), to "
                       "the denominator, or a map that marks every pixel scores 1.")
    if close(out, inter / p.flatten(1).sum(1)):
        fail(exercise, "that is precision: the denominator is sum(gt) + sum(pred * [gt == 0]).")
    if close(out, inter / (g + p).flatten(1).sum(1)):
        fail(exercise, "sum(gt) + sum(pred) counts the overlap twice: only pred outside the ground truth, "
                       "sum(pred * [gt == 0]), joins sum(gt).")
    if close(out, inter / (g.flatten(1).sum(1) + (p * (1 - g)).flatten(1).sum(1))):
        fail(exercise, "pred * (1 - gt) also counts half of each half-agreed pixel as a false alarm; the "
                       "protocol counts only pixels with gt == 0.")
    if not close(out, want, 1e-6):
        fail(exercise, "wrong values: sum(pred * gt) / (sum(gt) + sum(pred * [gt == 0])) per image.")
    if not close(call(exercise, fn, torch.zeros(1, 4, 4, dtype=torch.bool), gt[:1, :4, :4].clone()), torch.zeros(1, dtype=torch.float64)):
        fail(exercise, "an empty prediction has cIoU 0.")
    passed(exercise, "cIoU per image matches the reference on maps where the annotators disagree.")
