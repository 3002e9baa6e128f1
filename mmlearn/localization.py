"""Notebook 07: where is the sound coming from? Sound-source localization by audio-visual attention.

An audio vector is compared with every cell of a visual feature map; where they match is where the sound
comes from. Two training signals, one map:

    Senocak et al., "Learning to Localize Sound Source in Visual Scenes", CVPR 2018: cosine -> ReLU ->
        softmax over cells is the map; the map-weighted visual vector must be closer to its own clip's
        audio than to another clip's (a softmax over the two distances, MSE to (0, 1)); optionally a
        supervised loss pulls the map towards annotated boxes for a few labelled clips.
    Mo & Morgado, "Localizing Visual Sounds the Easy Way" (EZ-VSL), ECCV 2022: multiple-instance
        contrastive learning: a clip matches an image through its *best* cell (max over cells), symmetric
        InfoNCE over the batch.

Shapes: cells (B, L, D) unit vectors (L = H*W cells of the grid), audio (B, D) unit vectors, maps (B, L).
The evaluation protocol's map handling is here (upsample, binarize at the median or at the true size,
which object a map points at, a map's confidence); its metrics (cIoU, success AUC, AP) are in `metrics`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .audio import log_mel_stats, scene_sound_chunks
from .core import grid_to_cells, progress_bar
from .metrics import ciou, fit_linear_probe, success_auc
from .world.scenes import Scenes


# ----------------------------------------------------------------------------------------- data
def one_sounding(present, rng) -> np.ndarray:
    """One random present object sounds in each scene: (N, K) bool present -> (N, K) bool sounding."""
    present = np.asarray(present, bool)
    pick = (rng.random(present.shape) * present).argmax(1)        # uniform among the present slots
    sounding = np.zeros_like(present)
    sounding[np.arange(len(present)), pick] = True
    return sounding


def scene_audio_stats(scenes: Scenes, sounding, seed: int, chunk: int = 1_000, desc: str | None = None) -> torch.Tensor:
    """Each scene's sound (ambience + its sounding objects (N, K) bool) summarised by `log_mel_stats`, rendered a
    chunk at a time so that memory stays small: (N, 2 * n_mels). `desc` names a progress bar over the clips."""
    stats = []
    with progress_bar(len(scenes), desc or "", disable=desc is None, unit="clip") as bar:
        for waves in scene_sound_chunks(scenes, seed, sounding, chunk):
            stats.append(log_mel_stats(waves))
            bar.update(len(waves))
    return torch.cat(stats)


def sounding_box_maps(scenes: Scenes, sounding, size: int) -> torch.Tensor:
    """The ground truth of the protocol: the union of the sounding objects' boxes, (N, size, size) in {0, 1}."""
    side = scenes.image.shape[1]
    return torch.stack([boxes_to_map(scenes.box[i][np.asarray(sounding[i], bool)] / side, size)
                        for i in range(len(scenes))])





class AudioEncoder(nn.Module):
    """Log-mel statistics -> one unit vector per clip: (B, in_dim) -> (B, dim)."""

    def __init__(self, in_dim: int, dim: int = 64, hidden: int = 128):
        super().__init__()
        self.norm = nn.BatchNorm1d(in_dim)
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, stats: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.mlp(self.norm(stats)), dim=-1)


class CellProjection(nn.Module):
    """A 1x1 convolution of the frozen backbone grid, each cell L2-normalised: (B, C, H, W) -> (B, H*W, dim).

    The 1x1 convolution is written as one Linear layer applied to every cell: the same map, and on CPU its
    backward pass is one matrix product instead of a convolution's. `raw(grid)` gives the projected cells
    before normalising (Senocak's attended vector sums those)."""

    def __init__(self, channels: int, dim: int = 64):
        super().__init__()
        self.proj = nn.Linear(channels, dim)

    def raw(self, grid: torch.Tensor) -> torch.Tensor:
        return self.proj(grid_to_cells(grid))

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.raw(grid), dim=-1)


# ----------------------------------------------------------------------------------------- the map
def cell_similarity(cells: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Cosine of every cell with its own clip's audio: (B, L, D), (B, D) -> (B, L), both inputs unit vectors."""
    return torch.einsum("bld,bd->bl", cells, audio)


def attention_map(cells: torch.Tensor, audio: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Senocak's localization map: softmax over cells of ReLU(cosine(cell, audio)) / tau. (B, L, D), (B, D) ->
    (B, L), each row sums to 1. The paper has no temperature (tau = 1): a cosine lies in [-1, 1], so two cells'
    weights then differ by at most a factor e, and on 64 cells no weight exceeds e / (e + 63)."""
    return torch.softmax(F.relu(cell_similarity(cells, audio)) / tau, dim=1)


# ----------------------------------------------------------------------------------------- losses
def senocak_triplet_loss(attended: torch.Tensor, audio: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Hoffer & Ailon's triplet network loss, as Senocak uses it: with d+ = |z - a+| and d- = |z - a-|,
    softmax(d+, d-) should be (0, 1). attended z (B, D), audio a+ (B, D), negative a- (B, D) -> scalar."""
    d = torch.stack([(attended - audio).norm(dim=1), (attended - negative).norm(dim=1)], dim=1)
    target = torch.tensor([0.0, 1.0], device=d.device).expand_as(d)
    return F.mse_loss(torch.softmax(d, dim=1), target)


def localization_loss(attention: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Senocak's supervised loss: cross-entropy of the map with an annotated map, -sum target * log(attention),
    averaged over clips. attention and target (B, L), rows summing to 1."""
    return -(target * torch.log(attention.clamp_min(1e-12))).sum(1).mean()


def ezvsl_loss(cells: torch.Tensor, audio: torch.Tensor, tau: float = 0.07) -> torch.Tensor:
    """EZ-VSL's multiple-instance contrastive loss: image i and clip j match through their best cell,
    S[i, j] = max_l <cells[i, l], audio[j]> / tau; symmetric InfoNCE with the diagonal as positives.
    (B, L, D), (B, D) -> scalar."""
    # (B, L, D) @ (D, B) -> (image, cell, clip), max over the cells. The same numbers as einsum("ild,jd->ijl") and
    # amax, without the einsum's copies of the (B, B, L) tensor; max's backward also skips amax's search for ties.
    scores = (cells @ audio.T).max(dim=1).values / tau
    labels = torch.arange(len(scores), device=scores.device)
    return (F.cross_entropy(scores, labels) + F.cross_entropy(scores.T, labels)) / 2


class Localizer(nn.Module):
    """Cells and audio in one space. `method` is 'senocak' (attention + triplet) or 'ezvsl' (max-pool InfoNCE).

    forward(grid (B, C, H, W), stats (B, A)) -> (cells (B, L, D), audio (B, D)); `map` gives the (B, L)
    localization map: the attention for Senocak, the cosine for EZ-VSL (its maps are read as similarities).
    tau is the method's temperature: of EZ-VSL's InfoNCE (default 0.07), or of Senocak's attention softmax
    (default 1, the paper's: none).
    """

    def __init__(self, channels: int, audio_dim: int, dim: int = 64, method: str = "ezvsl", tau: float | None = None):
        super().__init__()
        if method not in ("senocak", "ezvsl"):
            raise ValueError(f"unknown method {method!r}: choose 'senocak' or 'ezvsl'")
        self.method = method
        self.tau = tau if tau is not None else 0.07 if method == "ezvsl" else 1.0
        self.cells, self.audio = CellProjection(channels, dim), AudioEncoder(audio_dim, dim)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))  # Senocak's fc layers after attention

    def forward(self, grid, stats):
        return self.cells(grid), self.audio(stats)

    def map(self, grid, stats) -> torch.Tensor:
        cells, audio = self(grid, stats)
        return attention_map(cells, audio, self.tau) if self.method == "senocak" else cell_similarity(cells, audio)

    def loss(self, grid, stats, target_map=None, labelled=None) -> torch.Tensor:
        """The method's unsupervised loss on a batch (the other clips are the negatives), plus Senocak's
        supervised loss on the clips where `labelled` (B,) bool is true, against target_map (B, L)."""
        raw, audio = self.cells.raw(grid), self.audio(stats)
        cells = F.normalize(raw, dim=-1)
        if self.method == "ezvsl":
            return ezvsl_loss(cells, audio, self.tau)
        alpha = attention_map(cells, audio, self.tau)
        attended = F.normalize(self.head(torch.einsum("bl,bld->bd", alpha, raw)), dim=-1)
        loss = senocak_triplet_loss(attended, audio, audio.roll(1, dims=0))
        if labelled is not None and labelled.any():
            loss = loss + localization_loss(alpha[labelled], target_map[labelled])
        return loss


# ----------------------------------------------------------------------------------------- evaluation
def upsample(maps, size: int) -> torch.Tensor:
    """Cell maps (N, L) or (N, h, w) -> (N, size, size) by bilinear interpolation, each cell's value at the centre
    of the block of pixels it covers (align_corners=False). EZ-VSL's test script resizes with align_corners=True,
    which puts the corner cells on the corner pixels and, on our 8x8 grid of a 32-pixel image, moves the outer
    cells by up to 2 pixels away from the objects they saw."""
    maps = torch.as_tensor(maps, dtype=torch.float32)
    if maps.ndim == 2:
        side = int(round(maps.shape[1] ** 0.5))
        maps = maps.view(len(maps), side, side)
    return F.interpolate(maps[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def binarize_at_median(maps: torch.Tensor) -> torch.Tensor:
    """The standard protocol's prediction: min-max normalise each (H, W) map, keep the pixels at or above the
    value at sorted index H*W/2 (its median), as EZ-VSL's test script does (`infer >= thres`; LVS's keeps
    `pred > threshold`, strictly): at least half the image, ties included, so a constant map keeps everything. (N, H, W) -> (N, H, W) bool."""
    flat = min_max(maps.flatten(1))
    threshold = flat.sort(dim=1).values[:, flat.shape[1] // 2]
    return (flat >= threshold[:, None]).view_as(maps)


def binarize_top(maps: torch.Tensor, areas) -> torch.Tensor:
    """The oracle-area protocol: keep each map's `areas[i]` highest pixels (the true sounding area).
    (N, H, W), (N,) -> (N, H, W) bool."""
    flat = maps.flatten(1)
    order = flat.argsort(dim=1, descending=True)
    keep = torch.arange(flat.shape[1])[None] < torch.as_tensor(areas)[:, None]
    out = torch.zeros_like(flat, dtype=torch.bool)
    out.scatter_(1, order, keep)
    return out.view_as(maps)


def boxes_to_map(boxes, size: int, consensus: bool = False) -> torch.Tensor:
    """A ground-truth map (size, size) from boxes given as fractions (x0, y0, x1, y1) of the frame.

    consensus=False (VGG-SS): the union of the boxes, 1 inside. consensus=True (Flickr-SoundNet, one box per
    annotator): every box adds 1, then the sum is halved and clipped at 1, so a pixel two annotators marked
    weighs 1 and a pixel one marked weighs 0.5, as the public evaluators build it."""
    gt = torch.zeros(size, size)
    for x0, y0, x1, y1 in boxes:
        gt[int(y0 * size):int(y1 * size), int(x0 * size):int(x1 * size)] += 1
    return (gt / 2).clamp(max=1) if consensus else (gt > 0).float()


def perfect_map(gt: torch.Tensor) -> torch.Tensor:
    """The best map there is, for ceilings: 1 on the ground truth gt (N, S, S) in {0, 1}, and below 0 outside it,
    falling with the distance from the ground truth's centre, so that a rule which must mark more pixels (the
    median rule) marks the nearest ones. (N, S, S) -> (N, S, S) float."""
    side = gt.shape[-1]
    yy, xx = torch.meshgrid(torch.arange(side, dtype=torch.float32), torch.arange(side, dtype=torch.float32),
                            indexing="ij")
    weight = gt.float() / gt.flatten(1).sum(1).clamp_min(1)[:, None, None]
    cy, cx = (weight * yy).flatten(1).sum(1), (weight * xx).flatten(1).sum(1)
    distance = ((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2).sqrt()
    return torch.where(gt > 0, 1.0, -distance / (2 * side)).float()


def median_rule_ceiling(gt: torch.Tensor) -> torch.Tensor:
    """The highest cIoU any map can reach under the median rule, per image: it marks at least half the frame,
    so a ground truth covering a fraction f < 1/2 scores at most f / (1/2). gt (N, S, S) in {0, 1} -> (N,)."""
    return (gt.flatten(1).double().mean(1) / 0.5).clamp(max=1)


def objectness(grid: torch.Tensor) -> torch.Tensor:
    """A vision-only map, audio ignored: each cell's mean absolute activation over the channels, as EZ-VSL's
    object-guided localisation reduces its image network's features. (N, C, H, W) -> (N, H*W)."""
    return grid.abs().mean(dim=1).flatten(1)


def centre_map(n: int, side: int) -> torch.Tensor:
    """A Gaussian blob in the middle of every image, neither looking nor listening: (n, side*side)."""
    yy, xx = torch.meshgrid(torch.arange(side) - (side - 1) / 2, torch.arange(side) - (side - 1) / 2, indexing="ij")
    return torch.exp(-(xx ** 2 + yy ** 2) / side).flatten().expand(n, -1)


def min_max(maps: torch.Tensor) -> torch.Tensor:
    """Each map (N, L) scaled to [0, 1]."""
    low = maps.amin(1, keepdim=True)
    return (maps - low) / (maps.amax(1, keepdim=True) - low).clamp_min(1e-12)


def object_guided(av_map: torch.Tensor, objectness_map: torch.Tensor, alpha: float = 0.4) -> torch.Tensor:
    """EZ-VSL's object-guided localisation (OGL) at test time: alpha * AV + (1 - alpha) * objectness, each
    min-max scaled first; alpha 0.4 is EZ-VSL's default. (N, L), (N, L) -> (N, L)."""
    return alpha * min_max(av_map) + (1 - alpha) * min_max(objectness_map)


def object_scores(maps: torch.Tensor, masks, present) -> torch.Tensor:
    """The mean map value inside each object's mask, -inf for empty slots.
    maps (N, H, W), masks (N, K, H, W) bool, present (N, K) bool -> (N, K)."""
    masks = torch.as_tensor(np.asarray(masks), dtype=torch.float32)
    mean = (maps[:, None] * masks).flatten(2).sum(2) / masks.flatten(2).sum(2).clamp_min(1)
    mean[~torch.as_tensor(np.asarray(present))] = -float("inf")
    return mean


def which_object(maps: torch.Tensor, masks, present) -> torch.Tensor:
    """The object each map points at: the one whose mask has the highest mean map value.
    maps (N, H, W), masks (N, K, H, W) bool, present (N, K) bool -> (N,) object slot."""
    return object_scores(maps, masks, present).argmax(1)


def look_alike_pairs(scenes: Scenes, differ: str) -> np.ndarray:
    """Pairs of objects in one scene that share their shape (so their timbre) and differ only in `differ`,
    'color' (so only the pitch tells them apart) or 'size' (only the loudness). (M, 3) rows (scene, a, b),
    each unordered pair once."""
    same = {"color": ("shape", "size"), "size": ("shape", "color")}[differ]
    rows = []
    k = scenes.shape.shape[1]
    for a in range(k):
        for b in range(a + 1, k):
            both = scenes.present[:, a] & scenes.present[:, b]
            alike = np.logical_and.reduce([getattr(scenes, f)[:, a] == getattr(scenes, f)[:, b] for f in same])
            differs = getattr(scenes, differ)[:, a] != getattr(scenes, differ)[:, b]
            rows += [(i, a, b) for i in np.flatnonzero(both & alike & differs)]
    return np.array(sorted(rows), dtype=np.int64).reshape(-1, 3)


def confidence(maps: torch.Tensor, share: float = 0.25) -> torch.Tensor:
    """SLAVC's per-clip confidence that something sounds: the mean of the top `share` of a map's values.
    (N, L) -> (N,)."""
    k = max(1, int(round(maps.shape[1] * share)))
    return maps.topk(k, dim=1).values.mean(1)


def oracle_area_ciou(maps, gt: torch.Tensor) -> torch.Tensor:
    """cIoU per image under the oracle-area protocol: each map, upsampled to the ground truth's size, keeps as many
    of its strongest pixels as the ground truth has. maps (N, L) or (N, h, w), gt (N, S, S) in {0, 1} -> (N,)."""
    return ciou(binarize_top(upsample(maps, gt.shape[-1]), gt.flatten(1).sum(1).long()), gt)


def cross_fitted_sounding_scores(sounding: torch.Tensor, silent: torch.Tensor):
    """An audio-only baseline for the silent test, no image at all: a logistic regression (`metrics.fit_linear_probe`)
    on the clips' statistics that tells "an object sounds" from "ambience alone". It is fitted on the odd-numbered
    clips and scores the even ones, then the other way round, so no clip is scored by a model that saw it.
    sounding, silent (N, A) -> scores (N,), (N,): the logit of "sounds", higher = more likely."""
    x = torch.cat([sounding, silent]).float()
    y = torch.cat([torch.ones(len(sounding)), torch.zeros(len(silent))]).long()
    fold = torch.arange(len(x)) % 2
    scores = torch.empty(len(x))
    for held_out in (0, 1):
        logits = fit_linear_probe(x[fold != held_out], y[fold != held_out], n_classes=2)(x[fold == held_out])
        scores[fold == held_out] = logits[:, 1] - logits[:, 0]
    return scores[:len(sounding)], scores[len(sounding):]


def localization_scores(maps, gt: torch.Tensor, scenes: Scenes | None = None, sounding=None) -> dict[str, float]:
    """Every localization metric of the notebook for cell maps (N, L) (or a full-size prediction (N, S, S) bool,
    taken as it is) against ground-truth maps gt (N, S, S):

    standard protocol (median): share with cIoU >= 0.5, success AUC, the mean share of the image marked;
    oracle area (the true area kept: the protocol is told the size): share with cIoU >= 0.5, success AUC;
    which object (if scenes and sounding are given): on scenes with two or more objects, the share where the
    object with the highest mean map value is a sounding one."""
    size = gt.shape[-1]
    if maps.dtype == torch.bool:
        standard = scaled = ciou(maps, gt)
    else:
        scaled = oracle_area_ciou(maps, gt)
        maps = upsample(maps, size)
        standard = ciou(binarize_at_median(maps), gt)
    kept = maps if maps.dtype == torch.bool else binarize_at_median(maps)
    out = {"cIoU@0.5": (standard >= 0.5).double().mean().item(), "AUC": success_auc(standard),
           "area kept (median)": kept.flatten(1).double().mean().item(),
           "cIoU@0.5 (oracle area)": (scaled >= 0.5).double().mean().item(), "AUC (oracle area)": success_auc(scaled)}
    if scenes is not None and maps.dtype != torch.bool:
        multi = scenes.present.sum(1) >= 2
        pointed = which_object(maps, scenes.mask, scenes.present).numpy()
        out["which object"] = float(np.asarray(sounding)[np.arange(len(pointed)), pointed][multi].mean())
    return out


def pixel_shares(kept: torch.Tensor, scenes: Scenes, sounding) -> dict[str, float]:
    """Where the marked pixels kept (N, H, W) bool lie: the shares on the sounding objects' masks, on the silent
    objects' masks and on the background (these three sum to 1), and the share inside the sounding objects'
    boxes, which is what the protocol's ground truth counts (a box also holds the background around its shape).
    Passing every pixel (`torch.ones`) gives the base rates: how much of the images each region covers."""
    sounding = np.asarray(sounding, bool)
    on = torch.as_tensor((scenes.mask & sounding[:, :, None, None]).any(1))
    off = torch.as_tensor((scenes.mask & ~sounding[:, :, None, None]).any(1))
    box = sounding_box_maps(scenes, sounding, kept.shape[-1]) > 0
    total = kept.sum().clamp_min(1).item()
    return {"sounding object": (kept & on).sum().item() / total, "silent objects": (kept & off).sum().item() / total,
            "background": (kept & ~on & ~off).sum().item() / total,
            "in the sounding box": (kept & box).sum().item() / total}
