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
