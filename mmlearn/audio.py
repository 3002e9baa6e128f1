"""Waveform -> spectrogram helpers. The hand-written STFT here is the reference for exercise 00.1.

Shapes: a waveform is (..., samples); a spectrogram is (..., freq, frames) like torch.stft.
"""
from __future__ import annotations

import torch


def frame(wave: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Cut (..., samples) into overlapping frames (..., n_frames, n_fft); the tail that fits no frame is dropped."""
    if wave.shape[-1] < n_fft:
        raise ValueError(f"a waveform of {wave.shape[-1]} samples is shorter than one frame (n_fft={n_fft})")
    return wave.unfold(-1, n_fft, hop)


def stft_magnitude(wave: torch.Tensor, n_fft: int = 256, hop: int = 128) -> torch.Tensor:
    """Magnitude STFT with a periodic Hamming window, no centre padding: (..., samples) -> (..., n_fft//2+1, n_frames).

    Equals torch.stft(wave, n_fft, hop, window=torch.hamming_window(n_fft), center=False,
    return_complex=True).abs().
    """
    frames = frame(wave, n_fft, hop) * torch.hamming_window(n_fft, dtype=wave.dtype, device=wave.device)
    return torch.fft.rfft(frames, dim=-1).abs().transpose(-1, -2)


def torch_stft_magnitude(wave: torch.Tensor, n_fft: int = 256, hop: int = 128) -> torch.Tensor:
    """The same spectrogram through torch.stft, for comparison."""
    window = torch.hamming_window(n_fft, dtype=wave.dtype, device=wave.device)
    return torch.stft(wave, n_fft, hop, window=window, center=False, return_complex=True).abs()
