"""Checkers for notebook 01 (metric learning): the VSE hinge loss and InfoNCE."""
from __future__ import annotations

import torch

from .common import call, fail, passed


def _embeddings(gen, b=6, d=8):
    img = torch.nn.functional.normalize(torch.randn(b, d, generator=gen, dtype=torch.float64), dim=1)
    txt = torch.nn.functional.normalize(img + 0.8 * torch.randn(b, d, generator=gen, dtype=torch.float64), dim=1)
    return img, txt


def _scalar(exercise, got):
    if not torch.is_tensor(got):
        fail(exercise, f"return a torch scalar tensor, not {type(got).__name__}.")
    if got.numel() != 1:
        fail(exercise, f"return one number (the batch mean), not a tensor of shape {tuple(got.shape)}.")
    return got.reshape(())


def vse_loss(fn, exercise: str = "01.1") -> None:
    """Check fn(img, txt, margin, max_violation) against `mmlearn.retrieval.vse_loss`, both variants."""
    from .. import retrieval

    gen = torch.Generator().manual_seed(0)
    for trial in range(4):
        img, txt = _embeddings(gen)
        for hardest in (False, True):
            got = _scalar(exercise, call(exercise, fn, img.clone(), txt.clone(), 0.2, hardest))
            want = retrieval.vse_loss(img, txt, 0.2, hardest)
            if torch.allclose(got, want, atol=1e-6):
                continue
            scores = img @ txt.t()
            pos = scores.diag().view(-1, 1)
            c_cap, c_img = (0.2 + scores - pos).clamp(min=0), (0.2 + scores - pos.t()).clamp(min=0)
            eye = torch.eye(len(scores), dtype=torch.bool)
            reduce = (lambda c, dim: c.max(dim).values) if hardest else (lambda c, dim: c.sum(dim))
            masked_cap, masked_img = c_cap.masked_fill(eye, 0), c_img.masked_fill(eye, 0)
            if torch.allclose(got, (reduce(c_cap, 1) + reduce(c_img, 0)).mean(), atol=1e-6):
                fail(exercise, "the positive pair is counted as its own negative: zero the diagonal of the costs.")
            if torch.allclose(got, reduce(masked_cap, 1).mean(), atol=1e-6) or \
               torch.allclose(got, reduce(masked_img, 0).mean(), atol=1e-6):
                fail(exercise, "only one direction: add captions-ranked-for-each-image AND images-ranked-for-each-caption.")
            if hardest and torch.allclose(got, (masked_cap.sum(1) + masked_img.sum(0)).mean(), atol=1e-6):
                fail(exercise, "max_violation=True keeps only the hardest negative: take the max, not the sum.")
            if not hardest and torch.allclose(got, (masked_cap.max(1).values + masked_img.max(0).values).mean(), atol=1e-6):
                fail(exercise, "max_violation=False sums the violations over all negatives, not just the hardest.")
            if torch.allclose(got, want * len(img), atol=1e-6):
                fail(exercise, "average over the batch (you returned the sum).")
            fail(exercise, f"{'VSE++ (hardest negative)' if hardest else 'VSE0 (sum)'} gives {got.item():.4f}, "
                            f"expected {want.item():.4f}: cost = max(0, margin + s(i, j) - s(i, i)).")
    passed(exercise, "both VSE variants match the reference.")


def infonce_loss(fn, exercise: str = "01.2") -> None:
    """Check fn(img, txt, logit_scale) against `mmlearn.retrieval.infonce_loss`."""
    import math

    from .. import retrieval

    gen = torch.Generator().manual_seed(1)
    for scale in (math.log(1 / 0.07), math.log(3.0), math.log(500.0)):
        img, txt = _embeddings(gen)
        logit_scale = torch.tensor(scale, dtype=torch.float64)
        got = _scalar(exercise, call(exercise, fn, img.clone(), txt.clone(), logit_scale.clone()))
        want = retrieval.infonce_loss(img, txt, logit_scale)
        if torch.allclose(got, want, atol=1e-6):
            continue
        target = torch.arange(len(img))
        ce = torch.nn.functional.cross_entropy
        t = min(math.exp(scale), 100.0)
        logits = t * img @ txt.t()
        if torch.allclose(got, ce(logits, target), atol=1e-6) or torch.allclose(got, ce(logits.t(), target), atol=1e-6):
            fail(exercise, "only one direction: average image->text and text->image cross-entropies.")
        if torch.allclose(got, (ce(img @ txt.t(), target) + ce(txt @ img.t(), target)) / 2, atol=1e-6):
            fail(exercise, "no temperature: multiply the cosine similarities by logit_scale.exp().")
        s = min(scale, math.log(100))
        if torch.allclose(got, (ce(s * img @ txt.t(), target) + ce(s * txt @ img.t(), target)) / 2, atol=1e-6):
            fail(exercise, "logit_scale is the LOG of the inverse temperature: use logit_scale.exp().")
        raw = math.exp(scale) * img @ txt.t()
        if scale > math.log(100) and torch.allclose(got, (ce(raw, target) + ce(raw.t(), target)) / 2, atol=1e-6):
            fail(exercise, "clamp logit_scale at log(100) before exp(), as CLIP does, so the temperature cannot collapse.")
        fail(exercise, f"got {got.item():.4f}, expected {want.item():.4f} (logit_scale = {scale:.2f}): the target of "
                        "row i is column i, in both directions.")
    passed(exercise, "matches the reference, temperature and clamp included.")
