"""Checkers for notebook 00 (multimodal data): the STFT magnitude."""
from __future__ import annotations

import torch

from .. import audio
from .common import call, close, fail, passed


def stft_magnitude(fn, exercise: str = "00.1") -> None:
    """Check fn(wave, n_fft, hop) -> (..., n_fft//2+1, n_frames) against `mmlearn.audio.stft_magnitude`."""
    gen = torch.Generator().manual_seed(0)
    for batch, n_samples, n_fft, hop in [((), 1000, 64, 16), ((3,), 2048, 256, 128), ((2, 2), 700, 100, 30)]:
        wave = torch.randn(*batch, n_samples, generator=gen, dtype=torch.float64)
        got = call(exercise, fn, wave.clone(), n_fft, hop)
        want = audio.stft_magnitude(wave, n_fft, hop)
        if not torch.is_tensor(got):
            fail(exercise, f"return a torch.Tensor, not {type(got).__name__}.")
        if got.is_complex():
            fail(exercise, "the result is complex: return the magnitude, |FFT| (.abs()).")
        got = got.to(torch.float64)
        n_freq, n_frames = want.shape[-2:]
        if got.shape != want.shape:
            if got.shape == want.transpose(-1, -2).shape:
                fail(exercise, f"axes swapped: return (..., freq, frames) = {tuple(want.shape)} like torch.stft, "
                                f"not (..., frames, freq) — transpose the last two axes.")
            if got.ndim >= 2 and got.shape[-2] == n_fft:
                fail(exercise, f"{n_fft} frequency rows: a real signal needs only the n_fft//2+1 = {n_freq} "
                                "non-negative frequencies — use torch.fft.rfft.")
            if got.ndim >= 1 and got.shape[-1] != n_frames:
                fail(exercise, f"{got.shape[-1]} frames, expected 1 + (samples - n_fft)//hop = {n_frames}: frames "
                                "start every `hop` samples, with no padding at the ends.")
            fail(exercise, f"shape {tuple(got.shape)}, expected {tuple(want.shape)} for a wave of shape "
                            f"{tuple(wave.shape)} (keep the leading batch dimensions).")
        if close(got, want):
            continue
        frames = audio.frame(wave, n_fft, hop)
        if close(got, want ** 2):
            fail(exercise, "you returned the power |FFT|²; the magnitude is |FFT| (no square).")
        if close(got, torch.fft.rfft(frames, dim=-1).abs().transpose(-1, -2)):
            fail(exercise, "no window: multiply every frame by torch.hamming_window(n_fft) before the FFT.")
        symmetric = torch.hamming_window(n_fft, periodic=False, dtype=wave.dtype)
        if close(got, torch.fft.rfft(frames * symmetric, dim=-1).abs().transpose(-1, -2)):
            fail(exercise, "that is the symmetric Hamming window; spectral analysis uses the periodic one, "
                            "torch.hamming_window(n_fft) (periodic=True, the default).")
        error = (got - want).abs().max().item()
        fail(exercise, f"right shape, wrong values (largest error {error:.3g}): frame with step `hop`, "
                        "window each frame, rfft each frame, take .abs().")
    passed(exercise, "matches the reference and torch.stft on 1-D and batched waves.")
