"""Sound as tensors: waveform -> spectrogram helpers, the clip summaries the course's probes and models hear
(`log_mel_stats`, `mfcc_stats`), and the world's scenes rendered as sound (`scene_sounds`). The hand-written STFT
here is the reference for exercise 00.1.

Shapes: a waveform is (..., samples); a spectrogram is (..., freq, frames) like torch.stft.
"""
from __future__ import annotations

import numpy as np
import torch

from .world.scenes import Scenes
from .world.sounds import SAMPLE_RATE, render_scene_audio


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


# ----------------------------------------------------------------------------------------- clip summaries
def log_mel_stats(waves, sample_rate: int = SAMPLE_RATE, n_mels: int = 40, batch_size: int = 512) -> torch.Tensor:
    """Each clip summarised by the mean and standard deviation over time of its log-mel spectrogram.

    (N, samples) float -> (N, 2 * n_mels). Timbre (which shape), pitch (which colour) and loudness (which
    size) of the world's objects all live in the average spectrum; the std keeps how it moves in time.
    """
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=512, hop_length=160, n_mels=n_mels)
    waves = torch.as_tensor(np.asarray(waves), dtype=torch.float32)
    out = []
    with torch.no_grad():
        for chunk in waves.split(batch_size):
            spec = torch.log(mel(chunk) + 1e-6)                      # (b, n_mels, frames)
            out.append(torch.cat([spec.mean(-1), spec.std(-1)], dim=1))
    return torch.cat(out) if out else torch.zeros(0, 2 * n_mels)


def mfcc_stats(waves: torch.Tensor, n_mfcc: int = 20, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """The hand-crafted baseline: the mean and standard deviation over time of 20 MFCCs, (N, 2 * n_mfcc)."""
    import torchaudio

    mfcc = torchaudio.transforms.MFCC(sample_rate, n_mfcc=n_mfcc, melkwargs=dict(n_fft=512, hop_length=160, n_mels=40))
    with torch.no_grad():
        m = mfcc(torch.as_tensor(waves, dtype=torch.float32))
    return torch.cat([m.mean(-1), m.std(-1)], dim=1)


# ----------------------------------------------------------------------------------------- the sound of scenes
def scene_sound_chunks(scenes: Scenes, seed: int, sounding=None, chunk: int = 250):
    """The sound of each scene, `chunk` scenes at a time: (chunk, samples) float32 arrays, 1 s at the world's
    rate, every object sounding unless `sounding` (N, K) bool says otherwise, over the place's ambience."""
    rng = np.random.default_rng(seed)
    for i in range(0, len(scenes), chunk):
        part = scenes.take(slice(i, i + chunk))
        yield render_scene_audio(part, rng, None if sounding is None else np.asarray(sounding)[i:i + chunk])[0]


def scene_sounds(scenes: Scenes, seed: int, sounding=None, chunk: int = 250) -> torch.Tensor:
    """The sound of every scene at once, (N, samples) float32 (see `scene_sound_chunks`)."""
    return torch.from_numpy(np.concatenate(list(scene_sound_chunks(scenes, seed, sounding, chunk))))
