"""Evaluation metrics of the course, written to be read (tests check them against brute force or reference libraries)."""
from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


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


def precision_at_true_count(scores: torch.Tensor, truth: torch.Tensor) -> float:
    """Tagging precision: for each image, of its n top-scored tags, the share that are true, where n is
    its number of true tags (so a perfect ranking scores 1); averaged over images.

    scores (N, T) tag scores per image; truth (N, T) bool, at least one true tag per image."""
    n = truth.sum(1)
    if (n == 0).any():
        raise ValueError("every image needs at least one true tag")
    hits = truth.gather(1, scores.argsort(1, descending=True)).float().cumsum(1)
    return (hits[torch.arange(len(n)), n - 1] / n).mean().item()


# ----------------------------------------------------------------------------------------- VQA accuracy
# The official evaluation's normalisation (VQA API, vqaEval.py): punctuation, number words, articles,
# and a table of contractions written without their apostrophe.
_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hes": "he's", "howd": "how'd", "howll": "how'll", "hows": "how's",
    "Im": "I'm", "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itll": "it'll", "let's": "let's",
    "mightve": "might've", "mustve": "must've", "shouldve": "should've", "shouldnt": "shouldn't",
    "thats": "that's", "thered": "there'd", "theres": "there's", "theyd": "they'd", "theyll": "they'll",
    "theyre": "they're", "theyve": "they've", "wasnt": "wasn't", "wed": "we'd", "weve": "we've",
    "werent": "weren't", "whats": "what's", "whered": "where'd", "wheres": "where's", "whos": "who's",
    "whove": "who've", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't", "yall": "y'all",
    "youd": "you'd", "youll": "you'll", "youre": "you're", "youve": "you've",
}
_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
            "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = {"a", "an", "the"}
_PUNCTUATION = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
_COMMA_IN_NUMBER = re.compile(r"(\d)(,)(\d)")


def normalize_answer(answer: str) -> str:
    """The official VQA answer normalisation: 'Two dogs!' -> '2 dogs', 'the red one.' -> 'red 1'."""
    text = answer.replace("\n", " ").replace("\t", " ").strip()
    out = text
    for p in _PUNCTUATION:  # drop punctuation next to a space (or in "1,000"); elsewhere it splits words
        if (p + " " in text or " " + p in text) or _COMMA_IN_NUMBER.search(text):
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    out = _PERIOD.sub("", out, 32)  # the official code passes re.UNICODE (= 32) as `count`; kept to match it
    words = [_NUMBERS.get(w, w) for w in out.lower().split()]
    words = [_CONTRACTIONS.get(w, w) for w in words if w not in _ARTICLES]
    return " ".join(words)


def _strip(answer: str) -> str:
    return answer.replace("\n", " ").replace("\t", " ").strip()


def vqa_accuracy(predicted: str, human_answers: list[str]) -> float:
    """Official VQA accuracy of one answer: the mean, over the 10 leave-one-out subsets of the human
    answers, of min(#humans in the subset who gave this answer / 3, 1).

    As in the official evaluation (vqaEval.py), answers are only stripped of whitespace when all human
    answers are identical; `normalize_answer` (case, punctuation, number words, articles) is applied to
    the prediction and the human answers only when the humans disagree. So "Black." scores 0 against ten
    "black", and 1 against nine "black" and one "white"."""
    if not isinstance(predicted, str):
        raise TypeError(f"a VQA prediction is a string, got {type(predicted).__name__} {predicted!r}")
    if not human_answers or not all(isinstance(a, str) for a in human_answers):
        raise TypeError(f"human answers are a non-empty list of strings, got {human_answers!r}")
    pred, humans = _strip(predicted), [_strip(a) for a in human_answers]
    if len(set(humans)) > 1:
        pred, humans = normalize_answer(pred), [normalize_answer(a) for a in humans]
    scores = []
    for i in range(len(humans)):
        others = humans[:i] + humans[i + 1:]
        scores.append(min(sum(a == pred for a in others) / 3, 1.0))
    return float(np.mean(scores))


def vqa_score(predictions: list[str], answers: list[list[str]]) -> float:
    """Mean official VQA accuracy over questions."""
    if len(predictions) != len(answers):
        raise ValueError(f"{len(predictions)} predictions for {len(answers)} questions")
    return float(np.mean([vqa_accuracy(p, a) for p, a in zip(predictions, answers)])) if answers else float("nan")


# ----------------------------------------------------------------------------------------- rank correlation
def average_ranks(values) -> np.ndarray:
    """Ranks 1..n, tied values sharing their average rank: [10, 20, 20, 30] -> [1, 2.5, 2.5, 4]."""
    _, inverse, counts = np.unique(np.asarray(values, dtype=np.float64), return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts                       # how many values are smaller
    return (below + (counts + 1) / 2)[inverse]


def spearman(x, y) -> float:
    """Spearman's rank correlation: Pearson's correlation of the average ranks (as scipy.stats.spearmanr)."""
    return float(np.corrcoef(average_ranks(x), average_ranks(y))[0, 1])


# ----------------------------------------------------------------------------------------- localization
def ciou(pred, gt) -> torch.Tensor:
    """Consensus IoU per image: sum(pred * gt) / (sum(gt) + sum(pred * [gt == 0])).
    pred (N, H, W) binary, gt (N, H, W) in [0, 1] -> (N,)."""
    pred, gt = torch.as_tensor(pred, dtype=torch.float64), torch.as_tensor(gt, dtype=torch.float64)
    inter = (pred * gt).flatten(1).sum(1)
    return inter / (gt.flatten(1).sum(1) + (pred * (gt == 0)).flatten(1).sum(1)).clamp_min(1e-12)


def success_auc(cious) -> float:
    """Area under the success curve: the share of images with cIoU >= t for t = 0, 0.05, ..., 1 (21 points),
    integrated with the trapezoid rule (sklearn.metrics.auc in the original test scripts)."""
    cious = np.asarray(cious, dtype=np.float64)
    thresholds = np.linspace(0, 1, 21)
    success = np.array([(cious >= t).mean() for t in thresholds])
    return float(np.sum((success[1:] + success[:-1]) / 2 * np.diff(thresholds)))


def average_precision(scores, labels) -> float:
    """Average precision of ranking positives (labels 1) above negatives by score: sum over the distinct
    score thresholds, highest first, of (recall gained) x (precision there), as
    sklearn.metrics.average_precision_score (tied scores enter together)."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    if labels.sum() == 0:
        raise ValueError("average precision needs at least one positive")
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    last = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]  # the last index of each run of tied scores
    hits = np.cumsum(labels)[last]
    precision, recall = hits / (last + 1), hits / labels.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# ----------------------------------------------------------------------------------------- separation
def si_sdr(estimate: torch.Tensor, reference: torch.Tensor, zero_mean: bool = True, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019), over the last axis: (..., samples) -> (...).

    Remove the means; project the estimate on the reference (alpha s, with alpha = <s_hat, s> / ||s||^2); what is
    left over is the error: SI-SDR = 10 log10(||alpha s||^2 / ||s_hat - alpha s||^2). Scaling the estimate
    changes nothing, and any part of it that is not the reference counts against it.
    """
    estimate, reference = estimate.double(), reference.double()
    if zero_mean:
        estimate = estimate - estimate.mean(-1, keepdim=True)
        reference = reference - reference.mean(-1, keepdim=True)
    alpha = (estimate * reference).sum(-1, keepdim=True) / ((reference ** 2).sum(-1, keepdim=True) + eps)
    target = alpha * reference
    error = estimate - target
    return 10 * torch.log10((target ** 2).sum(-1) / ((error ** 2).sum(-1) + eps) + eps)


SDR_CHUNK = 32


def solve_toeplitz(first: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """Solve R h = rhs for symmetric positive-definite Toeplitz matrices R given by their first column, batched:
    first, rhs (B, L) -> h (B, L). Levinson's recursion (as scipy.linalg.solve_toeplitz, which BSS-eval v4 uses):
    L steps of O(L) work each instead of forming R and factoring it in O(L^3). A row whose recursion breaks down
    (a degenerate, e.g. silent, reference) comes back NaN."""
    batch, size = first.shape
    flipped = first.flip(-1)                             # flipped[:, size-1-k] = first[:, k]
    forward = torch.zeros_like(first)                    # R_n forward = e_1, grown one entry per step
    h = torch.zeros_like(rhs)
    forward[:, 0] = 1 / first[:, 0]
    h[:, 0] = rhs[:, 0] / first[:, 0]
    for n in range(1, size):
        lag = flipped[:, size - 1 - n: size - 1]          # first[n], first[n-1], ..., first[1]
        error = (lag * forward[:, :n]).sum(-1, keepdim=True)
        backward = forward[:, :n].flip(-1)
        scale = 1 / (1 - error ** 2)
        forward[:, 1:n + 1] = scale * (forward[:, 1:n + 1] - error * backward)
        forward[:, 0] = forward[:, 0] * scale[:, 0]
        h_error = (lag * h[:, :n]).sum(-1, keepdim=True)
        h[:, :n + 1] += (rhs[:, n:n + 1] - h_error) * forward[:, :n + 1].flip(-1)
    return h


def sdr(estimate: torch.Tensor, reference: torch.Tensor, filter_length: int = 512) -> torch.Tensor:
    """BSS-Eval's signal-to-distortion ratio (Vincent et al. 2006, v4 form) in dB, over the last axis.

    Like SI-SDR, but the reference may first pass through any FIR filter of `filter_length` taps (a small
    echo or colouring is forgiven): the estimate is projected on the span of the reference's delayed copies,
    solving the Toeplitz normal equations R h = b built from the reference's auto-correlation and its
    cross-correlation with the estimate (`solve_toeplitz`). With unit-norm signals the projection's energy is
    b . h, so SDR = 10 log10(b.h / (1 - b.h)). (..., samples) -> (...).
    """
    shape, n = reference.shape[:-1], reference.shape[-1]
    estimate, reference = estimate.reshape(-1, n), reference.reshape(-1, n)
    n_fft = 1 << (n + filter_length - 2).bit_length()     # >= n + filter_length - 1: lags 0..L-1 exact, no wrap
    auto, cross = [], []
    for i in range(0, len(reference), SDR_CHUNK):          # a few signals at a time: the spectra are large
        est, ref = estimate[i:i + SDR_CHUNK].double(), reference[i:i + SDR_CHUNK].double()
        est = est / est.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        ref = ref / ref.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        ref_f, est_f = torch.fft.rfft(ref, n_fft), torch.fft.rfft(est, n_fft)
        auto.append(torch.fft.irfft(ref_f.abs() ** 2, n_fft)[..., :filter_length])        # r[l] = sum s[t] s[t+l]
        cross.append(torch.fft.irfft(ref_f.conj() * est_f, n_fft)[..., :filter_length])  # b[l] = sum s[t] y[t+l]
    auto, cross = torch.cat(auto), torch.cat(cross)
    h = solve_toeplitz(auto, cross)
    lags = torch.arange(filter_length)
    for j in (~torch.isfinite(h).all(-1)).nonzero().flatten().tolist():                 # singular: least squares
        toeplitz = auto[j][(lags[:, None] - lags[None, :]).abs()]
        h[j] = torch.linalg.lstsq(toeplitz, cross[j, :, None]).solution[:, 0]
    coherence = (cross * h).sum(-1).reshape(shape)
    return 10 * torch.log10(coherence / (1 - coherence))


def frechet_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The Fréchet distance between Gaussians fitted to features x (N, d) and y (M, d) — FID's formula:
    ||mu_x - mu_y||^2 + tr(S_x + S_y - 2 (S_x S_y)^(1/2)). The trace of the square root is computed from the
    eigenvalues of S_x^(1/2) S_y S_x^(1/2), which is symmetric (same eigenvalues as S_x S_y)."""
    x, y = x.double(), y.double()
    mu_x, mu_y = x.mean(0), y.mean(0)
    s_x, s_y = torch.cov(x.T), torch.cov(y.T)
    vals, vecs = torch.linalg.eigh(s_x)
    root_x = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T
    middle = torch.linalg.eigvalsh(root_x @ s_y @ root_x).clamp_min(0).sqrt().sum()
    return (mu_x - mu_y).pow(2).sum() + s_x.trace() + s_y.trace() - 2 * middle


# ----------------------------------------------------------------------------------------- probes
def fit_linear_probe(train_x, train_y, steps: int = 300, lr: float = 0.05, n_classes: int | None = None):
    """A logistic-regression probe trained full-batch (Adam) on (train_x (N, D), train_y (N,) class ids), the
    features standardised with the training set's statistics. Returns logits(x): (M, D) -> (M, n_classes)."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    probe = nn.Linear(train_x.shape[1], n_classes or int(train_y.max()) + 1)
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
    train_x = (train_x - mean) / std
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(probe(train_x), train_y).backward()
        optimizer.step()

    def logits(x):
        with torch.no_grad():
            return probe((x - mean) / std)
    return logits


def linear_probe(train_x, train_y, test_x, test_y, steps: int = 300, lr: float = 0.05) -> float:
    """Accuracy on (test_x, test_y) of a logistic-regression probe trained full-batch on (train_x, train_y)."""
    logits = fit_linear_probe(train_x, train_y, steps, lr, n_classes=int(max(train_y.max(), test_y.max())) + 1)
    return (logits(test_x).argmax(1) == test_y).float().mean().item()
