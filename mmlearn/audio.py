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


# ----------------------------------------------------------------------------------------- complex STFT
# Looking to Listen's analysis (Ephrat et al. 2018): 16 kHz, a 25-ms Hann window (400 samples) zero-padded
# to a 512-point FFT, a 10-ms hop (160 samples) -> 257 frequency bins, 100 frames a second.
N_FFT, WIN_LENGTH, HOP = 512, 400, 160


def stft(wave: torch.Tensor, n_fft: int = N_FFT, win_length: int = WIN_LENGTH, hop: int = HOP) -> torch.Tensor:
    """Complex STFT (..., samples) -> (..., n_fft // 2 + 1, frames), periodic Hann window, centred frames
    (frame t is centred on sample t * hop), so frames = samples // hop + 1."""
    window = torch.hann_window(win_length, dtype=wave.dtype, device=wave.device)
    shape = wave.shape
    spec = torch.stft(wave.reshape(-1, shape[-1]), n_fft, hop, win_length, window, center=True, return_complex=True)
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(spec: torch.Tensor, length: int, n_fft: int = N_FFT, win_length: int = WIN_LENGTH, hop: int = HOP) -> torch.Tensor:
    """The inverse of `stft` (overlap-add with the same window): (..., freq, frames) complex -> (..., length)."""
    window = torch.hann_window(win_length, dtype=spec.real.dtype, device=spec.device)
    shape = spec.shape
    wave = torch.istft(spec.reshape(-1, *shape[-2:]), n_fft, hop, win_length, window, center=True, length=length)
    return wave.reshape(*shape[:-2], length)


def compress(spec: torch.Tensor, power: float = 0.3) -> torch.Tensor:
    """Power-law compression of a complex spectrogram's *magnitude*, phase kept: |X|^p e^{i angle X}.
    (Some public ports raise the waveform to the power instead; that is not this.)"""
    return torch.polar(spec.abs() ** power, spec.angle())


def decompress(spec: torch.Tensor, power: float = 0.3) -> torch.Tensor:
    """The inverse of `compress`: |Y|^(1/p) e^{i angle Y}."""
    return torch.polar(spec.abs() ** (1 / power), spec.angle())
