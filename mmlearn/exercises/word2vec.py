"""Checkers for notebook 02 (word2vec): the negative-sampling loss and word2vec.c's keep-probability."""
from __future__ import annotations

import torch

from .common import call, fail, passed


def sgns_loss(fn, exercise: str = "02.2") -> None:
    """Check fn(center (B, d), context (B, d), negatives (B, K, d)) -> scalar against `mmlearn.word2vec.sgns_loss`."""
    import torch.nn.functional as F

    from ..word2vec import sgns_loss as ref

    gen = torch.Generator().manual_seed(0)
    for b, k, d in [(4, 5, 8), (1, 1, 2), (16, 3, 10)]:
        center, context = torch.randn(b, d, generator=gen, dtype=torch.float64), torch.randn(b, d, generator=gen, dtype=torch.float64)
        negatives = torch.randn(b, k, d, generator=gen, dtype=torch.float64)
        got = call(exercise, fn, center.clone(), context.clone(), negatives.clone())
        want = ref(center, context, negatives)
        if not torch.is_tensor(got) or got.numel() != 1:
            fail(exercise, "return one number (a 0-d tensor): the loss averaged over the batch.")
        got = got.reshape(()).to(torch.float64)
        pos = F.logsigmoid((center * context).sum(-1))
        neg_scores = torch.einsum("bd,bkd->bk", center, negatives)
        if b > 1 and torch.isclose(got, want * b):
            fail(exercise, "you summed over the batch: take the mean over pairs (the sum over the K noise words stays).")
        if k > 1 and torch.isclose(got, -(pos + F.logsigmoid(-neg_scores).mean(-1)).mean()):
            fail(exercise, "sum the K noise words' terms, do not average them: each is its own binary classification.")
        if torch.isclose(got, -(pos + F.logsigmoid(neg_scores).sum(-1)).mean()):
            fail(exercise, "noise words should score *low*: use log sigmoid(-v_c . u_k), with the minus sign.")
        if torch.isclose(got, -want):
            fail(exercise, "the loss is the *negative* log-likelihood: minimise -log sigmoid(...).")
        if not torch.isclose(got, want, atol=1e-6):
            fail(exercise, f"got {got.item():.5f}, expected {want.item():.5f}: "
                            "loss = mean over the batch of -log s(v_c . u_o) - sum_k log s(-v_c . u_k).")
    passed(exercise, "the negative-sampling loss matches the reference.")


def keep_probability(fn, exercise: str = "02.1") -> None:
    """Check fn(counts (V,), sample) -> keep-probability per word against `mmlearn.word2vec.keep_probability`."""
    import numpy as np

    from ..word2vec import keep_probability as ref

    counts = np.array([50_000, 8_000, 1_200, 300, 40, 5], dtype=np.int64)
    for sample in (1e-3, 1e-4):
        got = call(exercise, fn, counts.copy(), sample)
        want = ref(counts, sample)
        got = np.asarray(got, dtype=np.float64)
        if got.shape != want.shape:
            fail(exercise, f"return one probability per word, shape {want.shape}; got {got.shape}.")
        f = counts / counts.sum()
        if np.allclose(got, 1 - np.sqrt(sample / f)) or np.allclose(got, np.clip(1 - np.sqrt(sample / f), 0, 1)):
            fail(exercise, "that is the paper's *discard* probability idea (1 - sqrt(t/f)); word2vec.c keeps a word "
                            "with (sqrt(f / (s N)) + 1) * (s N) / f, using counts, not frequencies.")
        if np.allclose(got, np.sqrt(sample / f)) or np.allclose(got, np.minimum(np.sqrt(sample / f), 1)):
            fail(exercise, "sqrt(t / f) alone is not word2vec.c's rule: keep = (sqrt(f / (s N)) + 1) * (s N) / f.")
        if (got > 1 + 1e-12).any():
            fail(exercise, "a probability cannot exceed 1: cap it (np.minimum(..., 1)) — rare words are always kept.")
        if not np.allclose(got, want, rtol=1e-6):
            fail(exercise, f"got {np.round(got, 4)}, expected {np.round(want, 4)}: with threshold = sample * counts.sum(), "
                            "keep = min(1, (sqrt(counts / threshold) + 1) * threshold / counts).")
    passed(exercise, "keep-probabilities match word2vec.c's formula.")
