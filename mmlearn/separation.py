"""Notebook 08: the cocktail party — separating voices by watching faces.

Ephrat et al., "Looking to Listen at the Cocktail Party", SIGGRAPH 2018: from the mixture's spectrogram and
each speaker's face, a network predicts one complex ratio mask per speaker; mask x mixture, inverted, is
that speaker's voice. The faces fix *which* output is whose. Without them (audio only) the outputs come in
no particular order, so training must try both assignments and keep the better one: utterance-level
permutation-invariant training (Yu et al. 2017; Kolbaek et al. 2017).

What is kept from the paper: the STFT (400-sample Hann window, FFT 512, hop 160), power-law compression
(0.3) of the magnitude with the phase kept, an audio stream of dilated 2-D convolutions (1x7, 7x1, then
5x5 dilated in time), a visual stream of per-frame CNN features through dilated temporal convolutions with
weights shared by both speakers, upsampled to the STFT frame rate, fusion by concatenation -> BLSTM ->
fully connected -> one bounded complex mask per speaker, and the loss: L2 between compressed spectrograms.
What is scaled down for a CPU: channel counts and depth (`SeparatorConfig`), and the face features come
from a small CNN trained with the rest instead of a pretrained face network.

Shapes: waveforms (B, samples); complex spectrograms (B, F, T) with F = 257 bins; real/imaginary pairs
as channels (B, 2, F, T); faces (B, S, Tv, H, W, 3) uint8 at 25 fps; masks (B, S, 2, F, T).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pathlib import Path

from .audio import HOP, N_FFT, compress, decompress, istft, stft
from .core import DATA, in_batches, inference, load_checkpoint, release_memory
from .metrics import sdr, si_sdr
from .train import fit
from .world.sounds import SAMPLE_RATE
from .world.speech import FPS, VOICE_NAMES, SpeechMixtures

POWER = 0.3                       # power-law compression exponent (the paper's)
MASK_BOUND = 1.0                  # each part of the complex mask lies in (-MASK_BOUND, MASK_BOUND) (tanh)
N_BINS = N_FFT // 2 + 1
FRAMES_PER_VIDEO_FRAME = SAMPLE_RATE // FPS // HOP   # 640 / 160 = 4 STFT frames per video frame

SEEN_VOICES = VOICE_NAMES[:4]     # the networks train on these four voices; the other two are never heard
HELD_OUT = 10                     # the last 10 utterances of each seen voice are kept for testing
CHECKPOINTS = {"audio-visual": DATA / "separator_av.pt", "audio-only": DATA / "separator_ao.pt"}


# ----------------------------------------------------------------------------------------- signal
def as_channels(spec: torch.Tensor) -> torch.Tensor:
    """Complex (..., F, T) -> real (..., 2, F, T): real and imaginary parts as two channels."""
    return torch.stack([spec.real, spec.imag], dim=-3)


def as_complex(x: torch.Tensor) -> torch.Tensor:
    """Real (..., 2, F, T) -> complex (..., F, T)."""
    return torch.complex(x[..., 0, :, :], x[..., 1, :, :])


def apply_mask(mask: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
    """Complex multiplication on real/imaginary channels: mask (..., 2, F, T) x spec (..., 2, F, T) -> (..., 2, F, T).

    (a + ib)(c + id) = (ac - bd) + i(ad + bc): a complex ratio mask scales *and rotates* each time-frequency
    bin, so it can correct the phase as well as the magnitude.
    """
    a, b = mask[..., 0, :, :], mask[..., 1, :, :]
    c, d = spec[..., 0, :, :], spec[..., 1, :, :]
    return torch.stack([a * c - b * d, a * d + b * c], dim=-3)


def compressed_channels(wave: torch.Tensor) -> torch.Tensor:
    """Waveform (..., samples) -> its power-law-compressed STFT as channels (..., 2, F, T)."""
    return as_channels(compress(stft(wave), POWER))


def to_wave(channels: torch.Tensor, length: int) -> torch.Tensor:
    """Compressed spectrogram channels (..., 2, F, T) -> waveform (..., length): undo the compression, invert."""
    return istft(decompress(as_complex(channels), POWER), length)


# ----------------------------------------------------------------------------------------- model
@dataclass(frozen=True)
class SeparatorConfig:
    """Sizes of the separator. Looking to Listen: 96 audio channels, 15 conv layers, 8 output channels,
    256 visual channels, BLSTM 400, three FC 600 layers."""

    audio_channels: int = 8
    audio_dilations: tuple[int, ...] = (1, 2)   # 5x5 convolutions dilated in time (the paper: 1..32, then both axes)
    audio_out: int = 2                                 # channels per frequency bin that reach the BLSTM
    face_features: int = 32
    visual_dilations: tuple[int, ...] = (1, 2, 4)
    lstm: int = 128
    fc: int = 256
    n_speakers: int = 2
    visual: bool = True


def conv_bn_relu(conv: nn.Module, channels: int, dims: int = 2) -> nn.Sequential:
    norm = nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    return nn.Sequential(conv, norm, nn.ReLU())


class AudioStream(nn.Module):
    """Dilated 2-D convolutions over the compressed spectrogram: (B, 2, F, T) -> (B, T, audio_out * F)."""

    def __init__(self, cfg: SeparatorConfig):
        super().__init__()
        c = cfg.audio_channels
        layers = [conv_bn_relu(nn.Conv2d(2, c, (7, 1), padding=(3, 0)), c),       # along frequency (paper: 1x7 on T x F)
                  conv_bn_relu(nn.Conv2d(c, c, (1, 7), padding=(0, 3)), c)]       # along time
        for d in cfg.audio_dilations:
            layers.append(conv_bn_relu(nn.Conv2d(c, c, 5, padding=(2, 2 * d), dilation=(1, d)), c))
        layers.append(conv_bn_relu(nn.Conv2d(c, cfg.audio_out, 1), cfg.audio_out))
        self.net = nn.Sequential(*layers)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        x = self.net(spec)                                  # (B, C, F, T)
        return x.flatten(1, 2).transpose(1, 2)              # (B, T, C * F)


class FaceEncoder(nn.Module):
    """A small CNN applied to every face frame: (N, H, W, 3) uint8 -> (N, face_features)."""

    def __init__(self, features: int, size: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            conv_bn_relu(nn.Conv2d(3, 16, 3, 2, 1), 16), conv_bn_relu(nn.Conv2d(16, 32, 3, 2, 1), 32),
            conv_bn_relu(nn.Conv2d(32, 32, 3, 2, 1), 32), nn.Flatten(), nn.Linear(32 * (size // 8) ** 2, features))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames.permute(0, 3, 1, 2).float() / 255.0)


class VisualStream(nn.Module):
    """Per-frame face features -> dilated temporal convolutions -> nearest-neighbour upsampling to the STFT rate.

    (B, Tv, H, W, 3) uint8 -> (B, T, face_features). One speaker at a time: both speakers share the weights.
    """

    def __init__(self, cfg: SeparatorConfig, face_size: int = 32):
        super().__init__()
        c = cfg.face_features
        self.face = FaceEncoder(c, face_size)
        self.temporal = nn.Sequential(*[conv_bn_relu(nn.Conv1d(c, c, 5, padding=2 * d, dilation=d), c, dims=1)
                                        for d in cfg.visual_dilations])

    def forward(self, faces: torch.Tensor, n_frames: int) -> torch.Tensor:
        b, tv = faces.shape[:2]
        x = self.face(faces.flatten(0, 1)).reshape(b, tv, -1)              # (B, Tv, C)
        x = self.temporal(x.transpose(1, 2))                                # (B, C, Tv)
        x = x.repeat_interleave(FRAMES_PER_VIDEO_FRAME, dim=2)              # 25 fps -> 100 frames a second
        x = F.pad(x, (0, max(0, n_frames - x.shape[2])), mode="replicate")[:, :, :n_frames]
        return x.transpose(1, 2)                                            # (B, T, C)


class Separator(nn.Module):
    """Looking to Listen, scaled: compressed mixture (B, 2, F, T) [+ faces (B, S, Tv, H, W, 3)] -> masks (B, S, 2, F, T).

    With cfg.visual=False it is the audio-only network of the same shape (train it with `pit_loss`).
    """

    def __init__(self, cfg: SeparatorConfig = SeparatorConfig(), n_bins: int = N_BINS, face_size: int = 32):
        super().__init__()
        self.cfg, self.n_bins = cfg, n_bins
        self.audio = AudioStream(cfg)
        self.visual = VisualStream(cfg, face_size) if cfg.visual else None
        fused = cfg.audio_out * n_bins + (cfg.n_speakers * cfg.face_features if cfg.visual else 0)
        self.blstm = nn.LSTM(fused, cfg.lstm, batch_first=True, bidirectional=True)
        self.fc = nn.Sequential(nn.Linear(2 * cfg.lstm, cfg.fc), nn.ReLU(), nn.Linear(cfg.fc, cfg.fc), nn.ReLU(),
                                nn.Linear(cfg.fc, cfg.n_speakers * 2 * n_bins))

    def forward(self, spec: torch.Tensor, faces: torch.Tensor | None = None) -> torch.Tensor:
        b, _, f, t = spec.shape
        parts = [self.audio(spec)]                                          # (B, T, audio_out * F)
        if self.visual is not None:
            if faces is None:
                raise ValueError("this separator watches faces: pass faces (B, S, Tv, H, W, 3)")
            parts += [self.visual(faces[:, k], t) for k in range(faces.shape[1])]   # shared weights
        x, _ = self.blstm(torch.cat(parts, dim=2))                         # (B, T, 2 * lstm)
        x = self.fc(x).reshape(b, t, self.cfg.n_speakers, 2, f)
        return MASK_BOUND * torch.tanh(x.permute(0, 2, 3, 4, 1))           # (B, S, 2, F, T), bounded


# ----------------------------------------------------------------------------------------- losses
def spectrogram_loss(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """L2 between compressed spectrograms, per mixture: (B, S, 2, F, T) x 2 -> (B,), mean over speakers and bins."""
    return ((estimate - reference) ** 2).flatten(1).mean(1)


def pit_loss(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Utterance-level permutation-invariant training: for each mixture, the loss of the best assignment of
    outputs to speakers (all S! orders tried); averaged over the batch. (B, S, 2, F, T) x 2 -> scalar."""
    n = estimate.shape[1]
    per_order = torch.stack([spectrogram_loss(estimate[:, list(order)], reference)
                             for order in itertools.permutations(range(n))], dim=1)      # (B, S!)
    return per_order.min(dim=1).values.mean()


# ----------------------------------------------------------------------------------------- data
def mixture_batch(mixtures, indices) -> dict[str, torch.Tensor]:
    """Stack items of a `SpeechMixtures`: mixture (B, samples), sources (B, S, samples), faces (B, S, Tv, H, W, 3)."""
    items = [mixtures[int(i)] for i in indices]
    return {"mixture": torch.from_numpy(np.stack([m.mixture for m in items])),
            "sources": torch.from_numpy(np.stack([m.sources for m in items])),
            "faces": torch.from_numpy(np.stack([m.faces for m in items]))}


def endless_batches(mixtures, batch_size: int, seed: int = 0):
    """Random batches of a (large) `SpeechMixtures` forever; each batch is rendered when it is needed."""
    rng = np.random.default_rng(seed)
    while True:
        yield mixture_batch(mixtures, rng.integers(0, len(mixtures), batch_size))


def training_loss(permutation_invariant: bool = False):
    """The loss for `train.fit`: the paper's compressed-spectrogram L2, with the faces fixing the order; or, for the
    audio-only network, the same L2 under PIT."""
    def loss(model: Separator, batch: dict) -> torch.Tensor:
        mix = compressed_channels(batch["mixture"])                         # (B, 2, F, T)
        target = compressed_channels(batch["sources"])                       # (B, S, 2, F, T)
        faces = batch["faces"] if model.visual is not None else None
        estimate = apply_mask(model(mix, faces), mix[:, None])
        return pit_loss(estimate, target) if permutation_invariant else spectrogram_loss(estimate, target).mean()
    return loss


# ----------------------------------------------------------------------------------------- separating and scoring
def separate(model: Separator, mixture: torch.Tensor, faces: torch.Tensor | None = None,
             batch_size: int = 16) -> torch.Tensor:
    """Mixture waveforms (B, samples) [+ faces] -> estimated sources (B, S, samples), in batches, eval mode."""
    def estimate(mixture: torch.Tensor, faces: torch.Tensor | None) -> torch.Tensor:
        mix = compressed_channels(mixture)
        return to_wave(apply_mask(model(mix, faces), mix[:, None]), mixture.shape[-1])

    with inference(model):
        out = in_batches(estimate, mixture, faces if model.visual is not None else None, batch_size=batch_size,
                         device=next(model.parameters()).device)
    release_memory(collect=False)
    return out


def exact_masks(mixture_c: torch.Tensor, sources_c: torch.Tensor) -> torch.Tensor:
    """The exact complex ratio masks C(S_k) / C(Y) of compressed spectrograms: mixture (B, 1, F, T), sources
    (B, S, F, T) -> (B, S, F, T) complex. A bin where the mixture is silent gets C(S_k) itself (it is 0 too)."""
    return sources_c / mixture_c.where(mixture_c.abs() > 0, torch.ones_like(mixture_c))


def mixture_si_sdr(mixture: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """SI-SDR of the unseparated mixture (B, samples) against each source (B, S, samples): (B, S), the level
    every SI-SDR improvement is measured from."""
    return torch.stack([si_sdr(mixture, sources[:, k]) for k in range(sources.shape[1])], 1)


def oracle_masks(mixture: torch.Tensor, sources: torch.Tensor) -> dict[str, torch.Tensor]:
    """Masks that know the answer, as references: the ideal ratio mask |S_k| / sum_j |S_j| and the ideal binary
    mask (1 where speaker k is the loudest), applied to the mixture's STFT (its phase kept); and the ideal
    bounded complex mask, the exact compressed complex ratio C(S_k) / C(Y) with each part clipped to
    +-MASK_BOUND, applied as the network applies its own. -> {name: (B, S, samples)}."""
    out = {"ideal ratio mask": [], "ideal binary mask": [], "ideal bounded complex mask": []}
    n = mixture.shape[-1]
    for i in range(0, len(mixture), 16):                                      # 16 mixtures at a time, to save memory
        mix, src = stft(mixture[i:i + 16])[:, None], stft(sources[i:i + 16])     # (b, 1, F, T), (b, S, F, T)
        mag = src.abs()
        irm = mag / mag.sum(1, keepdim=True).clamp_min(1e-8)
        ibm = (mag == mag.max(1, keepdim=True).values).to(mag.dtype)
        out["ideal ratio mask"].append(istft(irm * mix, n))
        out["ideal binary mask"].append(istft(ibm * mix, n))
        mix_c, src_c = compress(mix, POWER), compress(src, POWER)
        exact = exact_masks(mix_c, src_c)
        bounded = torch.complex(exact.real.clamp(-MASK_BOUND, MASK_BOUND), exact.imag.clamp(-MASK_BOUND, MASK_BOUND))
        out["ideal bounded complex mask"].append(istft(decompress(bounded * mix_c, POWER), n))
    return {name: torch.cat(parts) for name, parts in out.items()}


def pairwise(metric, estimates: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """metric(estimate_i, source_j) for all pairs: (B, S, samples) x 2 -> (B, S_est, S_ref)."""
    s = estimates.shape[1]
    return torch.stack([torch.stack([metric(estimates[:, i], sources[:, j]) for j in range(s)], 1) for i in range(s)], 1)


def separation_scores(estimates: torch.Tensor, sources: torch.Tensor, mixture: torch.Tensor,
                      with_sdr: bool = True, mixture_sdr: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """How well each estimate matches its source, per mixture and speaker.

    estimates, sources (B, S, samples), mixture (B, samples). Output k is scored against speaker k (the order
    the faces asked for) *and*, for a model that cannot know the order, against the best assignment (PIT):
      si_sdri, sdri (B, S): improvement over the mixture, in the given order;
      si_sdri_pit, sdri_pit (B, S): the same under the best permutation (the one that maximises SI-SDR);
      assigned (B,) bool: the given order is the better one (output k is speaker k).
    mixture_sdr: sdr(mixture, sources) (B, S), to pass when scoring many estimates of the same mixtures (see
    `score_table`); computed when not given.
    """
    s = sources.shape[1]
    base_si = mixture_si_sdr(mixture, sources)                                     # (B, S)
    pw = pairwise(si_sdr, estimates, sources)                                      # (B, S_est, S_ref)
    orders = [list(p) for p in itertools.permutations(range(s))]
    by_order = torch.stack([pw[:, range(s), o].mean(1) for o in orders], 1)       # (B, S!)
    best = by_order.argmax(1)
    best_order = torch.tensor(orders)[best]                                        # (B, S): output k -> ref best_order[k]
    given = pw.diagonal(dim1=1, dim2=2)                                             # (B, S)
    out = {"si_sdri": given - base_si,
           "si_sdri_pit": torch.gather(pw, 2, best_order[:, :, None])[..., 0] - base_si.gather(1, best_order),
           "assigned": best == 0}
    if with_sdr:
        if mixture_sdr is None:
            mixture_sdr = sdr(mixture[:, None].expand_as(sources), sources)
        out["sdri"] = sdr(estimates, sources) - mixture_sdr
        if out["assigned"].all():
            out["sdri_pit"] = out["sdri"]
        else:                                                   # estimate i goes to reference best_order[i]
            reordered = torch.empty_like(estimates)
            reordered.scatter_(1, best_order[:, :, None].expand_as(estimates), estimates)
            out["sdri_pit"] = sdr(reordered, sources) - mixture_sdr
    release_memory(collect=False)                               # the large temporaries, back to the OS
    return out


def summarize(scores: dict[str, torch.Tensor]) -> dict[str, float]:
    """One table row from `separation_scores`: means over mixtures and speakers (dB) and the share of mixtures
    whose outputs came in the faces' order."""
    row = {"SI-SDRi": scores["si_sdri"].mean().item(), "SI-SDRi, best order": scores["si_sdri_pit"].mean().item()}
    if "sdri" in scores:
        row |= {"SDRi": scores["sdri"].mean().item(), "SDRi, best order": scores["sdri_pit"].mean().item()}
    return row | {"output k is speaker k": scores["assigned"].double().mean().item()}


def score_table(batch: dict[str, torch.Tensor], estimates: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """{row name: `summarize`d scores} for several systems' estimates (B, S, samples) of one `mixture_batch`."""
    mixture, sources = batch["mixture"], batch["sources"]
    mixture_sdr = sdr(mixture[:, None].expand_as(sources), sources)
    return {name: summarize(separation_scores(est, sources, mixture, mixture_sdr=mixture_sdr))
            for name, est in estimates.items()}


# ----------------------------------------------------------------------------------------- the recipe
def split_utterances(utterances) -> dict[str, list]:
    """train: all but the last HELD_OUT utterances of each seen voice; test: those last ones (seen voices,
    unheard sentences); unseen: every utterance of the two voices never used in training."""
    by_voice: dict[str, list] = {}
    for u in utterances:
        by_voice.setdefault(u.voice, []).append(u)
    return {"train": [u for v in SEEN_VOICES for u in by_voice[v][:-HELD_OUT]],
            "test": [u for v in SEEN_VOICES for u in by_voice[v][-HELD_OUT:]],
            "unseen": [u for v in sorted(by_voice) if v not in SEEN_VOICES for u in by_voice[v]]}


def train_separator(utterances, visual: bool, steps: int, batch_size: int = 16, seconds: float = 1.0,
                    lr: float = 2e-3, seed: int = 0, cfg: SeparatorConfig | None = None, **fit_kwargs):
    """Train a separator on fresh random mixtures of `utterances` (a new batch every step): the audio-visual one
    with the faces fixing the order, the audio-only one with PIT. Same data, steps, lr and seed for both. Adam with
    the learning rate decaying linearly to a tenth, gradients clipped at norm 5.
    Returns (model, History)."""
    cfg = cfg or SeparatorConfig(visual=visual)
    mixtures = SpeechMixtures(utterances, n=10 ** 9, seconds=seconds, seed=seed + 1)
    torch.manual_seed(seed)
    model = Separator(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - 0.9 * step / max(steps, 1))  # to lr / 10
    history = fit(model, training_loss(permutation_invariant=not visual), endless_batches(mixtures, batch_size, seed),
                  steps, optimizer=optimizer, scheduler=decay, clip_grad=5.0, seed=seed,
                  desc=f"{'audio-visual' if visual else 'audio-only (PIT)'} separator", **fit_kwargs)
    return model.eval(), history


def load_separator(name: str, path: str | Path | None = None) -> Separator:
    """A shipped separator ('audio-visual' or 'audio-only'), checked against its sha256."""
    return load_checkpoint(Separator(SeparatorConfig(visual=name == "audio-visual")), path or CHECKPOINTS[name],
                           f"{name} separator", "Restore it (`git checkout -- data/`) or rebuild it with "
                                                "`python scripts/train_separators.py`.")
