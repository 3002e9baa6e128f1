"""Metric learning for image–text matching: two encoders into one space, and the losses that shape it.

    image_encoder = ImageProjection(channels, grid, dim)  # frozen backbone grid (B, channels, grid, grid) -> R^d, unit norm
    text_encoder = GRUTextEncoder(len(vocab), dim)        # word embeddings + GRU -> R^d, unit norm
    loss = vse_loss(image_encoder(grid), text_encoder(ids, lengths), margin=0.2, max_violation=True)

All losses take L2-normalised embeddings img (B, d) and txt (B, d) where row i of each is a matching
pair and every other row of the batch is a negative.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from .core import in_batches, inference
from .text import pad

# ----------------------------------------------------------------------------------------- encoders


class ImageProjection(nn.Module):
    """Frozen-backbone grid features (B, C, h, w) -> unit vectors (B, dim).

    A 1x1 convolution squeezes each cell's C channels to `cell` numbers, then one linear layer maps the
    whole grid (which keeps *where* things are: "left of" needs it) into the joint space.
    """

    def __init__(self, channels: int, grid: int, dim: int = 256, cell: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels, cell, 1), nn.ReLU(), nn.Flatten(), nn.Linear(cell * grid * grid, dim))

    def forward(self, features):
        return F.normalize(self.net(features), dim=-1)


class GRUTextEncoder(nn.Module):
    """Token ids (B, T) with lengths (B,) -> unit vectors (B, dim): embeddings, a GRU, its last hidden state."""

    def __init__(self, vocab_size: int, dim: int = 256, embed: int = 64, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, dim)

    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed)  # (1, B, hidden): the state after each sequence's own last word
        return F.normalize(self.out(last[0]), dim=-1)


class BagOfEmbeddings(nn.Module):
    """The baseline text encoder: the mean of the word embeddings (word order ignored) -> unit vectors (B, dim)."""

    def __init__(self, vocab_size: int, dim: int = 256, embed: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.out = nn.Linear(embed, dim)

    def forward(self, ids, lengths):
        mean = self.embed(ids).sum(1) / lengths.clamp(min=1).unsqueeze(1).to(torch.float32)
        return F.normalize(self.out(mean), dim=-1)


# ----------------------------------------------------------------------------------------- losses
def contrastive_loss(img, txt, margin: float = 0.5):
    """Pairwise contrastive loss (Hadsell, Chopra, LeCun 2006) on Euclidean distances of unit vectors:
    pull each matching pair together (squared distance), push every non-matching pair of the batch
    beyond `margin` (squared hinge)."""
    squared = (2 - 2 * img @ txt.t()).clamp(min=0)           # (B, B) squared distances of unit vectors
    positive = torch.eye(len(img), dtype=torch.bool, device=img.device)
    pull = squared[positive].mean()
    distance = squared[~positive].clamp(min=1e-12).sqrt()    # clamped: sqrt has no gradient at 0
    push = F.relu(margin - distance).pow(2).mean()
    return pull + push


def vse_loss(img, txt, margin: float = 0.2, max_violation: bool = False):
    """VSE++ triplet ranking loss (Faghri et al. 2018) over the B x B cosine-score matrix, both directions.

    For pair i: every caption j != i must score below s(i, i) - margin for image i, and every image j != i
    below s(i, i) - margin for caption i. Sum the violations over negatives (VSE0), or keep only the
    hardest negative (max_violation, VSE++). Averaged over the batch (VSE++'s code sums; the mean keeps the
    learning rate independent of batch size).
    """
    scores = img @ txt.t()                                    # (B, B): s(image i, caption j)
    positive = scores.diag().view(-1, 1)
    cost_caption = (margin + scores - positive).clamp(min=0)      # image i vs caption j
    cost_image = (margin + scores - positive.t()).clamp(min=0)    # caption j vs image i
    mask = torch.eye(len(scores), dtype=torch.bool, device=scores.device)
    cost_caption, cost_image = cost_caption.masked_fill(mask, 0), cost_image.masked_fill(mask, 0)
    if max_violation:
        return (cost_caption.max(dim=1).values + cost_image.max(dim=0).values).mean()
    return (cost_caption.sum(dim=1) + cost_image.sum(dim=0)).mean()


INIT_LOGIT_SCALE = math.log(1 / 0.07)
MAX_LOGIT_SCALE = math.log(100.0)


def infonce_loss(img, txt, logit_scale):
    """CLIP's symmetric InfoNCE (Radford et al. 2021): cross-entropy over the B x B logits, both directions.

    logit_scale is the log of the inverse temperature (a learnable scalar, initialised to log(1/0.07)
    and clamped to <= log(100), as CLIP does).
    """
    logits = logit_scale.clamp(max=MAX_LOGIT_SCALE).exp() * img @ txt.t()
    target = torch.arange(len(img), device=img.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def semantic_cosine_loss(img, txt, classifier: nn.Module, labels, margin: float = 0.1, weight: float = 0.02):
    """im2recipe's objective (Salvador et al. 2017): a cosine loss that pulls matching pairs to cosine 1 and
    pushes non-matching ones (here every other pair of the batch) below `margin`, plus *semantic
    regularisation* — one classifier, shared by both modalities, must predict the scene's attribute
    labels (multi-hot (B, L)) from either embedding, weighted by `weight`.

    The push term is averaged over the negatives that still violate the margin, not over all B(B-1): averaged
    over all of them, a space that separates only the four places pays just 1/4 x (1 - margin) for its
    same-place negatives, and stops learning there.
    """
    cos = img @ txt.t()
    negative = ~torch.eye(len(cos), dtype=torch.bool, device=cos.device)
    violations = F.relu(cos[negative] - margin)
    cosine = (1 - cos.diag()).mean() + violations.sum() / (violations > 0).sum().clamp(min=1)
    semantic = (F.binary_cross_entropy_with_logits(classifier(img), labels)
                + F.binary_cross_entropy_with_logits(classifier(txt), labels))
    return cosine + weight * semantic


# ----------------------------------------------------------------------------------------- retrieval
def embed_texts(encoder: nn.Module, vocab, texts: list[str], batch_size: int = 1024, device=None) -> torch.Tensor:
    """Unit embeddings (N, d) of texts; unknown words become <unk>."""
    device = device or next(encoder.parameters()).device

    def embed(chunk: list[str]) -> torch.Tensor:
        ids, lengths = pad([vocab.encode(t) or [vocab.UNK] for t in chunk])
        return encoder(ids.to(device), lengths)

    with inference(encoder):
        return in_batches(embed, texts, batch_size=batch_size)


def embed_images(encoder: nn.Module, features: torch.Tensor, batch_size: int = 1024, device=None) -> torch.Tensor:
    """Unit embeddings (N, d) of image features (N, ...)."""
    with inference(encoder):
        return in_batches(encoder, features, batch_size=batch_size, device=device or next(encoder.parameters()).device)


# ----------------------------------------------------------------------------------------- data
def pair_batches(features: torch.Tensor, caption_ids: torch.Tensor, caption_lengths: torch.Tensor, batch_size: int):
    """Endless batches of (features (B, ...), ids (B, T), lengths (B,), image index (B,)): B *different*
    images, each with one of its captions drawn at random — so no image is its own negative."""
    n, c = caption_lengths.shape
    while True:
        for images in torch.randperm(n).split(batch_size):
            if len(images) < 2:
                continue
            choice = torch.randint(0, c, (len(images),))
            lengths = caption_lengths[images, choice]
            yield features[images], caption_ids[images, choice, : int(lengths.max())], lengths, images


# ----------------------------------------------------------------------------------------- a ready matching model
def matching_model(vocab_size: int, channels: int, grid: int, dim: int = 256) -> nn.ModuleDict:
    """An image-text matching model: {"image": ImageProjection, "text": GRUTextEncoder, "logit_scale"} (the pair
    notebook 01 trains with InfoNCE; notebooks 03 and 04 reuse it)."""
    model = nn.ModuleDict({"image": ImageProjection(channels, grid, dim), "text": GRUTextEncoder(vocab_size, dim)})
    model.logit_scale = nn.Parameter(torch.tensor(INIT_LOGIT_SCALE))
    return model


def train_matching(grid: torch.Tensor, caption_ids: torch.Tensor, caption_lengths: torch.Tensor, vocab_size: int,
                   steps: int = 500, batch_size: int = 128, lr: float = 3e-3, seed: int = 0, progress: bool = True):
    """`matching_model` trained with InfoNCE over batches of different images, each with one of its captions;
    returns it (frozen) and its History. grid (N, C, h, w) frozen-backbone features; caption_ids (N, captions, T),
    caption_lengths (N, captions)."""
    from .train import fit

    model = matching_model(vocab_size, grid.shape[1], grid.shape[-1]).to(grid.device)

    def loss_fn(m, batch):
        features, ids, lengths, _ = batch
        return infonce_loss(m["image"](features), m["text"](ids, lengths), m.logit_scale)

    history = fit(model, loss_fn, pair_batches(grid, caption_ids, caption_lengths, batch_size), steps, lr=lr, seed=seed,
                  desc="image-text matching (InfoNCE)", progress=progress)
    return model.eval().requires_grad_(False), history
