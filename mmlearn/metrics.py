"""Evaluation metrics of the course, written to be read (tests check them against brute force or reference libraries)."""
from __future__ import annotations

import torch


def recall_at_k(scores: torch.Tensor, relevant: torch.Tensor, ks=(1, 5, 10)) -> dict[int, float]:
    """Recall@K of a retrieval: the share of queries with at least one relevant item in their top K.

    scores (Q, N): similarity of every query to every gallery item; relevant (Q, N) bool.
    """
    order = scores.argsort(dim=1, descending=True)
    hits = relevant.gather(1, order)                   # (Q, N): relevance in ranked order
    first = torch.where(hits.any(1), hits.float().argmax(1), torch.full((len(scores),), scores.shape[1]))
    return {k: (first < k).float().mean().item() for k in ks}


def median_rank(scores: torch.Tensor, relevant: torch.Tensor) -> float:
    """Median (1-based) rank of the first relevant item."""
    order = scores.argsort(dim=1, descending=True)
    hits = relevant.gather(1, order)
    return (hits.float().argmax(1) + 1).float().median().item()


def ambiguity_ceiling(fits: torch.Tensor, ks=(1, 5, 10)) -> dict[int, float]:
    """The best standard Recall@K a retriever can expect when each caption fits several images.

    fits (Q, N) bool: images each query's caption is true of (its own image among them). A model that
    ranks exactly those first, in an order it cannot tell apart, finds the caption's own image in its
    top K with probability min(1, K / m), m = number of fitting images.
    """
    m = fits.sum(1).float()
    return {k: torch.clamp(k / m, max=1).mean().item() for k in ks}
