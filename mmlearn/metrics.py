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


def _ngrams(words, n):
    from collections import Counter

    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def corpus_bleu(references: list[list[list[str]]], hypotheses: list[list[str]], max_n: int = 4) -> float:
    """Corpus-level BLEU-max_n (Papineni et al. 2002) with uniform weights and no smoothing, as nltk's
    corpus_bleu: clipped n-gram precisions summed over the corpus, their geometric mean, times the
    brevity penalty against the reference closest in length (the shorter on a tie).

    references[i]: the reference captions of item i (lists of words); hypotheses[i]: its generated words.
    """
    import math

    matched, total = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for refs, hyp in zip(references, hypotheses):
        hyp_len += len(hyp)
        ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            best = {}
            for r in refs:
                for gram, c in _ngrams(r, n).items():
                    best[gram] = max(best.get(gram, 0), c)
            matched[n - 1] += sum(min(c, best.get(gram, 0)) for gram, c in counts.items())
            total[n - 1] += max(len(hyp) - n + 1, 1)  # nltk counts at least 1, even for a too-short caption
    if hyp_len == 0 or min(matched) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matched, total)) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return brevity * math.exp(log_precision)
