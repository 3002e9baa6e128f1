"""Notebook 04's judge: read generated images back and score them against their captions.

A generated image is read by the frozen world backbone and heads trained on *real* labelled images (place; per
cell presence, shape, colour, size); touching cells with an object become one object, giving a `Scenes` record
that the world's own semantics judge against the caption (`faithfulness`). `r_precision` ranks each image's
caption among captions of other scenes with the matching model; `Judge` runs everything, with the Fréchet
distance on pooled backbone features; `spread` measures how different the images of one caption are.

    judge = Judge(extractor, train_reader(train_grid, train.scenes)[0], matching, vocab, captions, reference)
    scores = judge.scores(images, captions, scenes)       # images (N, 3, 32, 32) in [0, 1]
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .backbone import PretrainHeads, cell_targets, extract, pretrain_loss
from .core import seed_everything
from .metrics import frechet_distance
from .semantics import describe_object, meaning_fits, objects_fitting, parse_caption
from .train import History, batches_of, fit
from .world import COLORS, PLACES, SHAPES
from .world.scenes import Scenes


def train_reader(grid: torch.Tensor, scenes: Scenes, steps: int = 400, seed: int = 0) -> tuple[PretrainHeads, History]:
    """The detector that reads images back: the backbone's pretraining heads (place; per cell presence, shape,
    colour, size), fitted on the frozen grid features (N, C, h, w) of *real* labelled training images."""
    targets = {k: torch.from_numpy(v) for k, v in cell_targets(scenes, grid=grid.shape[-1]).items()}
    place = torch.from_numpy(scenes.place).long()
    seed_everything(seed)
    heads = PretrainHeads(grid.shape[1])
    identity = nn.Identity()

    def loss(model, batch):
        x, p, presence, shape, color, size = batch
        return pretrain_loss(identity, model, x, p, {"presence": presence, "shape": shape, "color": color, "size": size})

    stream = batches_of(grid, place, targets["presence"], targets["shape"], targets["color"], targets["size"], batch_size=256)
    history = fit(heads, loss, stream, steps=steps, lr=3e-3, seed=seed, desc="scene reader", progress=False)
    return heads.eval().requires_grad_(False), history


def connected_cells(present: torch.Tensor) -> torch.Tensor:
    """(N, h, w) bool -> (N, h, w) long: 0 where empty; the cells of one 4-connected group share one label."""
    n, h, w = present.shape
    empty = h * w + 1
    labels = torch.where(present, torch.arange(1, h * w + 1).view(1, h, w).expand(n, h, w), empty)
    while True:
        p = F.pad(labels, (1, 1, 1, 1), value=empty)
        smallest = torch.stack([p[:, 1:-1, 1:-1], p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]]).amin(0)
        new = torch.where(present, smallest, empty)
        if torch.equal(new, labels):
            return torch.where(present, labels, 0)
        labels = new


def scenes_from_cells(place_logits: torch.Tensor, cells: tuple[torch.Tensor, ...], images: np.ndarray) -> Scenes:
    """Detections -> a Scenes record the world's semantics can judge. place_logits (N, places); cells = the heads'
    per-cell (presence (N, 1, h, w), shape, colour, size logits (N, classes, h, w)); images (N, H, W, 3) uint8.
    Each 4-connected group of cells with presence > 0.5 is one object; its shape, colour and size are the
    argmax of the probabilities summed over its cells; its centre the mean of its cells' centres (pixels)."""
    presence, *attributes = cells
    labels = connected_cells(presence[:, 0] > 0).numpy()
    probs = [a.softmax(dim=1).numpy() for a in attributes]                 # shape, colour, size
    n, h, w = labels.shape
    H, W = images.shape[1:3]
    groups = [np.unique(labels[i])[1:] for i in range(n)]
    k = max(1, max(len(g) for g in groups))
    shape, color, size = (np.full((n, k), -1) for _ in range(3))
    center, box, mask = np.zeros((n, k, 2)), np.zeros((n, k, 4), int), np.zeros((n, k, H, W), bool)
    for i, group in enumerate(groups):
        for j, label in enumerate(group):
            cell = labels[i] == label
            shape[i, j], color[i, j], size[i, j] = (p[i][:, cell].sum(1).argmax() for p in probs)
            ys, xs = np.nonzero(cell)
            center[i, j] = ((xs + 0.5) * W / w).mean(), ((ys + 0.5) * H / h).mean()
            box[i, j] = xs.min() * W // w, ys.min() * H // h, (xs.max() + 1) * W // w, (ys.max() + 1) * H // h
            mask[i, j] = cell.repeat(H // h, 0).repeat(W // w, 1)
    return Scenes(images, place_logits.argmax(1).numpy(), shape, color, size, center, box, mask)


@torch.no_grad()
def read_grid(heads: PretrainHeads, grid: torch.Tensor, images: torch.Tensor) -> Scenes:
    """What images (N, 3, 32, 32) in [0, 1] show, read by the reader heads from their backbone grid (N, C, h, w)."""
    place, cells = heads(grid)
    return scenes_from_cells(place, cells, (images.permute(0, 2, 3, 1) * 255).round().byte().numpy())


def read_scenes(extractor, heads: PretrainHeads, images: torch.Tensor) -> Scenes:
    """What images (N, 3, 32, 32) in [0, 1] show, as read by the frozen backbone and the reader heads."""
    return read_grid(heads, extract(extractor, images)[0], images)


def faithfulness(read: Scenes, captions: list[str], truth: Scenes) -> dict[str, float]:
    """Does image i show what caption i says? read: what the reader saw in each image; truth: caption i's scene.

    place: the place read = the scene's; colour / shape recall: of the objects the caption names, the share
    whose colour / shape appears on some object read; object recall: whose whole description (shape, colour,
    size as named) fits one object read; count: the number of objects read = the number the caption states
    (only captions that state it: complete lists and "three objects"); fits: the caption is true of what was
    read, judged by the world's semantics (`semantics.meaning_fits`)."""
    colour, shape, whole, count, fits = [], [], [], [], []
    for i, caption in enumerate(captions):
        meaning, one = parse_caption(caption), read.take([i])
        present = one.present[0]
        for obj in meaning.objects:
            if obj[2] is not None:
                colour.append(COLORS.index(obj[2]) in one.color[0][present])
            shape.append(SHAPES.index(obj[3]) in one.shape[0][present])
            whole.append(bool(objects_fitting(one, obj).any()))
        stated = meaning.total if meaning.total is not None else (
            sum(o[0] for o in meaning.objects) if meaning.exhaustive else None)
        if stated is not None:
            count.append(present.sum() == stated)
        fits.append(bool(meaning_fits(meaning, one)[0]))
    mean = lambda values: float(np.mean(values)) if values else float("nan")  # noqa: E731
    return {"place": float(np.mean(read.place == truth.place)), "colour recall": mean(colour),
            "shape recall": mean(shape), "object recall": mean(whole), "count": mean(count), "fits caption": mean(fits)}


def r_precision(image_emb: torch.Tensor, own_emb: torch.Tensor, pool_emb: torch.Tensor, pool_fits: np.ndarray,
                others: int = 99, seed: int = 0) -> float:
    """R-precision top-1 (AttnGAN / DM-GAN protocol): for each image, rank its own caption among `others` captions
    drawn from a pool, never one true of the image's scene; the share of images whose own caption wins.
    image_emb, own_emb (N, d) and pool_emb (P, d) unit vectors; pool_fits (P, N) bool: pool caption p fits scene n."""
    rng = np.random.default_rng(seed)
    pool_scores = (image_emb @ pool_emb.t()).numpy()                        # (N, P)
    own = (image_emb * own_emb).sum(1).numpy()
    hits = [own[i] > pool_scores[i, rng.choice(np.flatnonzero(~pool_fits[:, i]), others, replace=False)].max()
            for i in range(len(own))]
    return float(np.mean(hits))


@dataclass
class Judge:
    """The frozen tools that score a text-to-image model on captions of scenes it never saw: the backbone and
    reader heads (faithfulness), the matching model and a caption pool (R-precision), and pooled backbone
    features of other real test images (the Fréchet distance's reference set)."""

    extractor: nn.Module
    heads: PretrainHeads
    matching: nn.ModuleDict
    vocab: object
    pool_captions: list[str]
    reference: torch.Tensor          # (M, C) pooled features of real images
    pool: torch.Tensor = field(init=False)   # the pool captions' embeddings, computed once

    def __post_init__(self):
        from .retrieval import embed_texts

        self.pool = embed_texts(self.matching["text"], self.vocab, self.pool_captions)

    def scores(self, images: torch.Tensor, captions: list[str], scenes: Scenes, seed: int = 0) -> dict[str, float]:
        """All metrics of images (N, 3, 32, 32) in [0, 1] made for captions (N,) of scenes (N)."""
        from .retrieval import embed_texts
        from .semantics import fits_matrix

        grid, pooled = extract(self.extractor, images)
        out = faithfulness(read_grid(self.heads, grid, images), captions, scenes)
        with torch.no_grad():
            image_emb = self.matching["image"](grid)
        own = embed_texts(self.matching["text"], self.vocab, captions)
        fits = fits_matrix(self.pool_captions, scenes)
        out["R-precision"] = r_precision(image_emb, own, self.pool, fits, seed=seed)
        out["Fréchet"] = float(frechet_distance(pooled.double(), self.reference.double()))
        return out


def describe(scenes: Scenes, i: int) -> str:
    """Scene i in words, e.g. 'beach: large red circle, small blue square' (what the reader saw, or the truth)."""
    objects = [describe_object(scenes, i, k) for k in np.flatnonzero(scenes.present[i])]
    return f"{PLACES[scenes.place[i]]}: " + (", ".join(objects) if objects else "nothing")


def spread(images: torch.Tensor) -> float:
    """How different the images of one caption are: images (C, K, 3, H, W), K images for each of C captions ->
    the per-pixel standard deviation across the K, averaged over pixels and captions (0: all K identical)."""
    return images.std(dim=1).mean().item()
