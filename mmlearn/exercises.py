"""Checkers for the notebooks' exercises.

    from mmlearn import exercises as check
    check.stft_magnitude(stft_magnitude)      # after writing your own stft_magnitude

A checker calls the learner's function on random inputs, compares it with the package's reference,
prints "passed" or raises `ExerciseFailed` with a specific hint (wrong shape, forgot the window, ...).
"""
from __future__ import annotations

import torch

from . import audio


class ExerciseFailed(AssertionError):
    """The learner's answer is not right yet; the message says what looks wrong."""


def _fail(exercise: str, hint: str):
    raise ExerciseFailed(f"Exercise {exercise}: {hint}")


def _passed(exercise: str, what: str) -> None:
    print(f"✓ Exercise {exercise} passed: {what}")


def _call(exercise: str, fn, *args):
    """Call the learner's function; turn a crash into a hint, but let NotImplementedError through."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any crash is the learner's to see
        _fail(exercise, f"your function raised {type(error).__name__}: {error}")


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-4) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=tol, atol=tol)


def stft_magnitude(fn, exercise: str = "00.1") -> None:
    """Check fn(wave, n_fft, hop) -> (..., n_fft//2+1, n_frames) against `mmlearn.audio.stft_magnitude`."""
    gen = torch.Generator().manual_seed(0)
    for batch, n_samples, n_fft, hop in [((), 1000, 64, 16), ((3,), 2048, 256, 128), ((2, 2), 700, 100, 30)]:
        wave = torch.randn(*batch, n_samples, generator=gen, dtype=torch.float64)
        got = _call(exercise, fn, wave.clone(), n_fft, hop)
        want = audio.stft_magnitude(wave, n_fft, hop)
        if not torch.is_tensor(got):
            _fail(exercise, f"return a torch.Tensor, not {type(got).__name__}.")
        if got.is_complex():
            _fail(exercise, "the result is complex: return the magnitude, |FFT| (.abs()).")
        got = got.to(torch.float64)
        n_freq, n_frames = want.shape[-2:]
        if got.shape != want.shape:
            if got.shape == want.transpose(-1, -2).shape:
                _fail(exercise, f"axes swapped: return (..., freq, frames) = {tuple(want.shape)} like torch.stft, "
                                f"not (..., frames, freq) — transpose the last two axes.")
            if got.ndim >= 2 and got.shape[-2] == n_fft:
                _fail(exercise, f"{n_fft} frequency rows: a real signal needs only the n_fft//2+1 = {n_freq} "
                                "non-negative frequencies — use torch.fft.rfft.")
            if got.ndim >= 1 and got.shape[-1] != n_frames:
                _fail(exercise, f"{got.shape[-1]} frames, expected 1 + (samples - n_fft)//hop = {n_frames}: frames "
                                "start every `hop` samples, with no padding at the ends.")
            _fail(exercise, f"shape {tuple(got.shape)}, expected {tuple(want.shape)} for a wave of shape "
                            f"{tuple(wave.shape)} (keep the leading batch dimensions).")
        if _close(got, want):
            continue
        frames = audio.frame(wave, n_fft, hop)
        if _close(got, want ** 2):
            _fail(exercise, "you returned the power |FFT|²; the magnitude is |FFT| (no square).")
        if _close(got, torch.fft.rfft(frames, dim=-1).abs().transpose(-1, -2)):
            _fail(exercise, "no window: multiply every frame by torch.hamming_window(n_fft) before the FFT.")
        symmetric = torch.hamming_window(n_fft, periodic=False, dtype=wave.dtype)
        if _close(got, torch.fft.rfft(frames * symmetric, dim=-1).abs().transpose(-1, -2)):
            _fail(exercise, "that is the symmetric Hamming window; spectral analysis uses the periodic one, "
                            "torch.hamming_window(n_fft) (periodic=True, the default).")
        error = (got - want).abs().max().item()
        _fail(exercise, f"right shape, wrong values (largest error {error:.3g}): frame with step `hop`, "
                        "window each frame, rfft each frame, take .abs().")
    _passed(exercise, "matches the reference and torch.stft on 1-D and batched waves.")


# ----------------------------------------------------------------------------------------- notebook 01
def _embeddings(gen, b=6, d=8):
    img = torch.nn.functional.normalize(torch.randn(b, d, generator=gen, dtype=torch.float64), dim=1)
    txt = torch.nn.functional.normalize(img + 0.8 * torch.randn(b, d, generator=gen, dtype=torch.float64), dim=1)
    return img, txt


def _scalar(exercise, got):
    if not torch.is_tensor(got):
        _fail(exercise, f"return a torch scalar tensor, not {type(got).__name__}.")
    if got.numel() != 1:
        _fail(exercise, f"return one number (the batch mean), not a tensor of shape {tuple(got.shape)}.")
    return got.reshape(())


def vse_loss(fn, exercise: str = "01.1") -> None:
    """Check fn(img, txt, margin, max_violation) against `mmlearn.retrieval.vse_loss`, both variants."""
    from . import retrieval

    gen = torch.Generator().manual_seed(0)
    for trial in range(4):
        img, txt = _embeddings(gen)
        for hardest in (False, True):
            got = _scalar(exercise, _call(exercise, fn, img.clone(), txt.clone(), 0.2, hardest))
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
                _fail(exercise, "the positive pair is counted as its own negative: zero the diagonal of the costs.")
            if torch.allclose(got, reduce(masked_cap, 1).mean(), atol=1e-6) or \
               torch.allclose(got, reduce(masked_img, 0).mean(), atol=1e-6):
                _fail(exercise, "only one direction: add captions-ranked-for-each-image AND images-ranked-for-each-caption.")
            if hardest and torch.allclose(got, (masked_cap.sum(1) + masked_img.sum(0)).mean(), atol=1e-6):
                _fail(exercise, "max_violation=True keeps only the hardest negative: take the max, not the sum.")
            if not hardest and torch.allclose(got, (masked_cap.max(1).values + masked_img.max(0).values).mean(), atol=1e-6):
                _fail(exercise, "max_violation=False sums the violations over all negatives, not just the hardest.")
            if torch.allclose(got, want * len(img), atol=1e-6):
                _fail(exercise, "average over the batch (you returned the sum).")
            _fail(exercise, f"{'VSE++ (hardest negative)' if hardest else 'VSE0 (sum)'} gives {got.item():.4f}, "
                            f"expected {want.item():.4f}: cost = max(0, margin + s(i, j) - s(i, i)).")
    _passed(exercise, "both VSE variants match the reference.")


def infonce_loss(fn, exercise: str = "01.2") -> None:
    """Check fn(img, txt, logit_scale) against `mmlearn.retrieval.infonce_loss`."""
    import math

    from . import retrieval

    gen = torch.Generator().manual_seed(1)
    for scale in (math.log(1 / 0.07), math.log(3.0), math.log(500.0)):
        img, txt = _embeddings(gen)
        logit_scale = torch.tensor(scale, dtype=torch.float64)
        got = _scalar(exercise, _call(exercise, fn, img.clone(), txt.clone(), logit_scale.clone()))
        want = retrieval.infonce_loss(img, txt, logit_scale)
        if torch.allclose(got, want, atol=1e-6):
            continue
        target = torch.arange(len(img))
        ce = torch.nn.functional.cross_entropy
        t = min(math.exp(scale), 100.0)
        logits = t * img @ txt.t()
        if torch.allclose(got, ce(logits, target), atol=1e-6) or torch.allclose(got, ce(logits.t(), target), atol=1e-6):
            _fail(exercise, "only one direction: average image->text and text->image cross-entropies.")
        if torch.allclose(got, (ce(img @ txt.t(), target) + ce(txt @ img.t(), target)) / 2, atol=1e-6):
            _fail(exercise, "no temperature: multiply the cosine similarities by logit_scale.exp().")
        s = min(scale, math.log(100))
        if torch.allclose(got, (ce(s * img @ txt.t(), target) + ce(s * txt @ img.t(), target)) / 2, atol=1e-6):
            _fail(exercise, "logit_scale is the LOG of the inverse temperature: use logit_scale.exp().")
        raw = math.exp(scale) * img @ txt.t()
        if scale > math.log(100) and torch.allclose(got, (ce(raw, target) + ce(raw.t(), target)) / 2, atol=1e-6):
            _fail(exercise, "clamp logit_scale at log(100) before exp(), as CLIP does, so the temperature cannot collapse.")
        _fail(exercise, f"got {got.item():.4f}, expected {want.item():.4f} (logit_scale = {scale:.2f}): the target of "
                        "row i is column i, in both directions.")
    _passed(exercise, "matches the reference, temperature and clamp included.")


# ----------------------------------------------------------------------------------------- notebook 02
def sgns_loss(fn, exercise: str = "02.1") -> None:
    """Check fn(center (B, d), context (B, d), negatives (B, K, d)) -> scalar against `mmlearn.word2vec.sgns_loss`."""
    import torch.nn.functional as F

    from .word2vec import sgns_loss as ref

    gen = torch.Generator().manual_seed(0)
    for b, k, d in [(4, 5, 8), (1, 1, 2), (16, 3, 10)]:
        center, context = torch.randn(b, d, generator=gen, dtype=torch.float64), torch.randn(b, d, generator=gen, dtype=torch.float64)
        negatives = torch.randn(b, k, d, generator=gen, dtype=torch.float64)
        got = _call(exercise, fn, center.clone(), context.clone(), negatives.clone())
        want = ref(center, context, negatives)
        if not torch.is_tensor(got) or got.numel() != 1:
            _fail(exercise, "return one number (a 0-d tensor): the loss averaged over the batch.")
        got = got.reshape(()).to(torch.float64)
        pos = F.logsigmoid((center * context).sum(-1))
        neg_scores = torch.einsum("bd,bkd->bk", center, negatives)
        if b > 1 and torch.isclose(got, want * b):
            _fail(exercise, "you summed over the batch: take the mean over pairs (the sum over the K noise words stays).")
        if k > 1 and torch.isclose(got, -(pos + F.logsigmoid(-neg_scores).mean(-1)).mean()):
            _fail(exercise, "sum the K noise words' terms, do not average them: each is its own binary classification.")
        if torch.isclose(got, -(pos + F.logsigmoid(neg_scores).sum(-1)).mean()):
            _fail(exercise, "noise words should score *low*: use log sigmoid(-v_c . u_k), with the minus sign.")
        if torch.isclose(got, -want):
            _fail(exercise, "the loss is the *negative* log-likelihood: minimise -log sigmoid(...).")
        if not torch.isclose(got, want, atol=1e-6):
            _fail(exercise, f"got {got.item():.5f}, expected {want.item():.5f}: "
                            "loss = mean over the batch of -log s(v_c . u_o) - sum_k log s(-v_c . u_k).")
    _passed(exercise, "the negative-sampling loss matches the reference.")


def keep_probability(fn, exercise: str = "02.2") -> None:
    """Check fn(counts (V,), sample) -> keep-probability per word against `mmlearn.word2vec.keep_probability`."""
    import numpy as np

    from .word2vec import keep_probability as ref

    counts = np.array([50_000, 8_000, 1_200, 300, 40, 5], dtype=np.int64)
    for sample in (1e-3, 1e-4):
        got = _call(exercise, fn, counts.copy(), sample)
        want = ref(counts, sample)
        got = np.asarray(got, dtype=np.float64)
        if got.shape != want.shape:
            _fail(exercise, f"return one probability per word, shape {want.shape}; got {got.shape}.")
        f = counts / counts.sum()
        if np.allclose(got, 1 - np.sqrt(sample / f)) or np.allclose(got, np.clip(1 - np.sqrt(sample / f), 0, 1)):
            _fail(exercise, "that is the paper's *discard* probability idea (1 - sqrt(t/f)); word2vec.c keeps a word "
                            "with (sqrt(f / (s N)) + 1) * (s N) / f, using counts, not frequencies.")
        if np.allclose(got, np.sqrt(sample / f)) or np.allclose(got, np.minimum(np.sqrt(sample / f), 1)):
            _fail(exercise, "sqrt(t / f) alone is not word2vec.c's rule: keep = (sqrt(f / (s N)) + 1) * (s N) / f.")
        if (got > 1 + 1e-12).any():
            _fail(exercise, "a probability cannot exceed 1: cap it (np.minimum(..., 1)) — rare words are always kept.")
        if not np.allclose(got, want, rtol=1e-6):
            _fail(exercise, f"got {np.round(got, 4)}, expected {np.round(want, 4)}: with threshold = sample * counts.sum(), "
                            "keep = min(1, (sqrt(counts / threshold) + 1) * threshold / counts).")
    _passed(exercise, "keep-probabilities match word2vec.c's formula.")


# ----------------------------------------------------------------------------------------- notebook 03
def soft_attention(fn, exercise: str = "03.1") -> None:
    """Check fn(features (B, L, C), hidden (B, H), encoder_att, decoder_att, full_att) -> (context (B, C), alpha (B, L))
    against `mmlearn.captioning.SoftAttention` with the same layers."""
    from .captioning import SoftAttention

    torch.manual_seed(0)
    for b, n_cells, c, h in [(2, 5, 4, 3), (3, 64, 8, 6)]:
        ref = SoftAttention(c, h, 7).double()
        features, hidden = torch.randn(b, n_cells, c, dtype=torch.float64), torch.randn(b, h, dtype=torch.float64)
        want_context, want_alpha = ref(features, hidden)
        out = _call(exercise, fn, features.clone(), hidden.clone(), ref.encoder_att, ref.decoder_att, ref.full_att)
        if not (isinstance(out, tuple) and len(out) == 2):
            _fail(exercise, "return two things: (context (B, C), alpha (B, L)).")
        context, alpha = out
        if alpha.shape != want_alpha.shape:
            if alpha.numel() == want_alpha.numel():
                _fail(exercise, f"alpha has shape {tuple(alpha.shape)}; squeeze it to (B, L) = {tuple(want_alpha.shape)}.")
            _fail(exercise, f"alpha should be (B, L) = {tuple(want_alpha.shape)}, one weight per cell; got {tuple(alpha.shape)}.")
        if not torch.allclose(alpha.sum(1), torch.ones(b, dtype=alpha.dtype), atol=1e-6):
            _fail(exercise, "each image's attention weights must sum to 1: softmax over the cells (dim=1), not the batch.")
        energy_no_tanh = ref.full_att(ref.encoder_att(features) + ref.decoder_att(hidden).unsqueeze(1)).squeeze(2)
        if torch.allclose(alpha, energy_no_tanh.softmax(1), atol=1e-6):
            _fail(exercise, "missing the tanh between (encoder_att + decoder_att) and full_att.")
        if not torch.allclose(alpha, want_alpha, atol=1e-6):
            _fail(exercise, "wrong weights: e = full_att(tanh(encoder_att(features) + decoder_att(hidden)[:, None]))")
        if context.shape != want_context.shape:
            _fail(exercise, f"context should be (B, C) = {tuple(want_context.shape)}; got {tuple(context.shape)}.")
        if torch.allclose(context, features.mean(1), atol=1e-6):
            _fail(exercise, "the context is a *weighted* sum of the cells, weighted by alpha — not their mean.")
        if not torch.allclose(context, want_context, atol=1e-6):
            _fail(exercise, "context = (alpha[:, :, None] * features).sum(dim=1).")
    _passed(exercise, "attention weights and context match the reference.")


def beam_step(fn, exercise: str = "03.2") -> None:
    """Check fn(log_probs (k, V), scores (k,), beam) -> (new scores, origin beam index, word) against
    `mmlearn.captioning.beam_step`."""
    from .captioning import beam_step as ref

    gen = torch.Generator().manual_seed(0)
    for k, vocab, beam in [(1, 7, 3), (3, 7, 3), (4, 50, 4)]:
        log_probs = torch.randn(k, vocab, generator=gen, dtype=torch.float64).log_softmax(1)
        scores = -torch.rand(k, generator=gen, dtype=torch.float64) * 5
        out = _call(exercise, fn, log_probs.clone(), scores.clone(), beam)
        if not (isinstance(out, tuple) and len(out) == 3):
            _fail(exercise, "return three tensors: (scores, origin beam, word).")
        got_scores, origin, word = out
        want_scores, want_origin, want_word = ref(log_probs, scores, beam)
        if origin.is_floating_point():
            _fail(exercise, "the origin beam is an integer: use torch.div(flat, V, rounding_mode='floor') or //, "
                            "not /, which gives floats (a known bug of the reference tutorial).")
        if torch.allclose(got_scores, log_probs.view(-1).topk(min(beam, log_probs.numel())).values):
            _fail(exercise, "add each beam's cumulative score to its next-word log-probabilities before ranking.")
        if torch.equal(word, want_origin * vocab + want_word) and not torch.equal(word, want_word):
            _fail(exercise, "the word is the flat index modulo V (flat % V), not the flat index itself.")
        if not torch.allclose(got_scores, want_scores) or not torch.equal(origin, want_origin) or not torch.equal(word, want_word):
            _fail(exercise, "rank all k x V continuations together (flatten, then topk(beam)); origin = flat // V, "
                            "word = flat % V.")
    _passed(exercise, "matches the reference beam step.")
