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

from .world.sounds import SAMPLE_RATE


# ----------------------------------------------------------------------------------------- encoders
def log_mel_stats(waves, sample_rate: int = SAMPLE_RATE, n_mels: int = 40, batch_size: int = 512) -> torch.Tensor:
    """Each clip summarised by the mean and standard deviation over time of its log-mel spectrogram.

    (N, samples) float -> (N, 2 * n_mels). Timbre (which shape), pitch (which colour) and loudness (which
    size) of the world's objects all live in the average spectrum; the std keeps how it moves in time.
    """
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=512, hop_length=160, n_mels=n_mels)
    waves = torch.as_tensor(np.asarray(waves), dtype=torch.float32)
    out = []
    with torch.no_grad():
        for chunk in waves.split(batch_size):
            spec = torch.log(mel(chunk) + 1e-6)                      # (b, n_mels, frames)
            out.append(torch.cat([spec.mean(-1), spec.std(-1)], dim=1))
    return torch.cat(out) if out else torch.zeros(0, 2 * n_mels)


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

    `raw(grid)` gives the projected cells before normalising (Senocak's attended vector sums those)."""

    def __init__(self, channels: int, dim: int = 64):
        super().__init__()
        self.conv = nn.Conv2d(channels, dim, kernel_size=1)

    def raw(self, grid: torch.Tensor) -> torch.Tensor:
        return self.conv(grid).flatten(2).transpose(1, 2)

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.raw(grid), dim=-1)


# ----------------------------------------------------------------------------------------- the map
def cell_similarity(cells: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Cosine of every cell with its own clip's audio: (B, L, D), (B, D) -> (B, L), both inputs unit vectors."""
    return torch.einsum("bld,bd->bl", cells, audio)


def attention_map(cells: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Senocak's localization map: softmax over cells of ReLU(cosine(cell, audio)). (B, L, D), (B, D) -> (B, L),
    each row sums to 1."""
    return torch.softmax(F.relu(cell_similarity(cells, audio)), dim=1)


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
    scores = torch.einsum("ild,jd->ijl", cells, audio).amax(dim=2) / tau
    labels = torch.arange(len(scores), device=scores.device)
    return (F.cross_entropy(scores, labels) + F.cross_entropy(scores.T, labels)) / 2


class Localizer(nn.Module):
    """Cells and audio in one space. `method` is 'senocak' (attention + triplet) or 'ezvsl' (max-pool InfoNCE).

    forward(grid (B, C, H, W), stats (B, A)) -> (cells (B, L, D), audio (B, D)); `map` gives the (B, L)
    localization map: the attention for Senocak, the cosine for EZ-VSL (its maps are read as similarities).
    """

    def __init__(self, channels: int, audio_dim: int, dim: int = 64, method: str = "ezvsl", tau: float = 0.07):
        super().__init__()
        if method not in ("senocak", "ezvsl"):
            raise ValueError(f"unknown method {method!r}: choose 'senocak' or 'ezvsl'")
        self.method, self.tau = method, tau
        self.cells, self.audio = CellProjection(channels, dim), AudioEncoder(audio_dim, dim)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))  # Senocak's fc layers after attention

    def forward(self, grid, stats):
        return self.cells(grid), self.audio(stats)

    def map(self, grid, stats) -> torch.Tensor:
        cells, audio = self(grid, stats)
        return attention_map(cells, audio) if self.method == "senocak" else cell_similarity(cells, audio)

    def loss(self, grid, stats, target_map=None, labelled=None) -> torch.Tensor:
        """The method's unsupervised loss on a batch (the other clips are the negatives), plus Senocak's
        supervised loss on the clips where `labelled` (B,) bool is true, against target_map (B, L)."""
        cells, audio = self(grid, stats)
        if self.method == "ezvsl":
            return ezvsl_loss(cells, audio, self.tau)
        alpha = attention_map(cells, audio)
        attended = F.normalize(self.head(torch.einsum("bl,bld->bd", alpha, self.cells.raw(grid))), dim=-1)
        loss = senocak_triplet_loss(attended, audio, audio.roll(1, dims=0))
        if labelled is not None and labelled.any():
            loss = loss + localization_loss(alpha[labelled], target_map[labelled])
        return loss


# ----------------------------------------------------------------------------------------- evaluation
def upsample(maps, size: int) -> torch.Tensor:
    """Cell maps (N, L) or (N, h, w) -> (N, size, size) by bilinear interpolation (as the papers resize to 224)."""
    maps = torch.as_tensor(maps, dtype=torch.float32)
    if maps.ndim == 2:
        side = int(round(maps.shape[1] ** 0.5))
        maps = maps.view(len(maps), side, side)
    return F.interpolate(maps[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def binarize_at_median(maps: torch.Tensor) -> torch.Tensor:
    """The standard protocol's prediction: min-max normalise each (H, W) map, keep the pixels above its own
    median value (the value at sorted index H*W/2), as the LVS and EZ-VSL test scripts do. A constant map
    keeps nothing. (N, H, W) -> (N, H, W) bool."""
    flat = maps.flatten(1)
    flat = (flat - flat.amin(1, keepdim=True)) / (flat.amax(1, keepdim=True) - flat.amin(1, keepdim=True)).clamp_min(1e-12)
    threshold = flat.sort(dim=1).values[:, flat.shape[1] // 2]
    return (flat > threshold[:, None]).view_as(maps)


def binarize_top(maps: torch.Tensor, areas) -> torch.Tensor:
    """The size-scaled protocol: keep each map's `areas[i]` highest pixels (the true sounding area).
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


def which_object(maps: torch.Tensor, masks, present) -> torch.Tensor:
    """The object each map points at: the one whose mask has the highest mean map value.
    maps (N, H, W), masks (N, K, H, W) bool, present (N, K) bool -> (N,) object slot."""
    masks = torch.as_tensor(np.asarray(masks), dtype=torch.float32)
    mean = (maps[:, None] * masks).flatten(2).sum(2) / masks.flatten(2).sum(2).clamp_min(1)
    mean[~torch.as_tensor(np.asarray(present))] = -float("inf")
    return mean.argmax(1)


def confidence(maps: torch.Tensor, share: float = 0.25) -> torch.Tensor:
    """SLAVC's per-clip confidence that something sounds: the mean of the top `share` of a map's values.
    (N, L) -> (N,)."""
    k = max(1, int(round(maps.shape[1] * share)))
    return maps.topk(k, dim=1).values.mean(1)
