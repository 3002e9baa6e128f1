"""Notebook 08's signal chain, losses, metrics and networks: against torch/torchmetrics and by learning."""
import itertools

import numpy as np
import pytest
import torch
from torchmetrics.functional.audio import (permutation_invariant_training, scale_invariant_signal_distortion_ratio,
                                           signal_distortion_ratio)

from mmlearn import separation as sep
from mmlearn.audio import compress, decompress, istft, stft
from mmlearn.audio_datasets import read_speech
from mmlearn.metrics import sdr, si_sdr
from mmlearn.world.sounds import SAMPLE_RATE
from mmlearn.world.speech import FPS, SpeechMixtures
from mmlearn.core import ChecksumMismatch

STEPS_TO_OVERFIT = 300


@pytest.fixture(scope="module")
def mixtures():
    split = sep.split_utterances(read_speech())
    return sep.mixture_batch(SpeechMixtures(split["test"], n=12, seconds=1.0, seed=5), range(12))


def test_stft_matches_the_paper_and_inverts():
    wave = torch.randn(2, 16_000, dtype=torch.float64)
    spec = stft(wave)
    assert spec.shape == (2, 257, 101)                      # FFT 512 -> 257 bins; hop 160 -> 100 frames a second
    window = torch.hann_window(400, dtype=torch.float64)
    direct = torch.stft(wave, 512, 160, 400, window, center=True, return_complex=True)
    assert torch.allclose(spec, direct)
    assert torch.allclose(istft(spec, 16_000), wave, atol=1e-10)


def test_compression_acts_on_the_magnitude_and_keeps_the_phase():
    spec = torch.complex(torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64))
    squeezed = compress(spec, 0.3)
    assert torch.allclose(squeezed.abs(), spec.abs() ** 0.3)
    assert torch.allclose(torch.angle(squeezed), torch.angle(spec))
    assert torch.allclose(decompress(squeezed, 0.3), spec)


def test_mask_application_is_complex_multiplication():
    mask, spec = torch.randn(2, 3, 2, 4, 5), torch.randn(2, 1, 2, 4, 5)
    want = sep.as_complex(mask) * sep.as_complex(spec)
    assert torch.allclose(sep.as_complex(sep.apply_mask(mask, spec)), want, atol=1e-6)
    rotate = torch.zeros(1, 2, 1, 1)
    rotate[0, 1] = 1.0                                       # the mask i turns (1, 0) into (0, 1): a 90 degree rotation
    assert torch.equal(sep.apply_mask(rotate, torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1)).flatten(), torch.tensor([0.0, 1.0]))


def test_solve_toeplitz_equals_scipy_and_flags_a_silent_reference():
    from scipy.linalg import solve_toeplitz as reference

    from mmlearn.metrics import solve_toeplitz
    g = torch.Generator().manual_seed(0)
    signal = torch.randn(3, 400, generator=g, dtype=torch.float64)
    first = torch.stack([(s[: 400 - k] * s[k:]).sum() for s in signal for k in range(32)]).reshape(3, 32)  # auto-correlations
    rhs = torch.randn(3, 32, generator=g, dtype=torch.float64)
    ours = solve_toeplitz(first, rhs)
    for i in range(3):
        assert np.allclose(ours[i].numpy(), reference(first[i].numpy(), rhs[i].numpy()), rtol=1e-9, atol=1e-9)
    assert not torch.isfinite(solve_toeplitz(torch.zeros(1, 8, dtype=torch.float64), rhs[:1, :8])).all()


def test_si_sdr_and_sdr_equal_torchmetrics():
    gen = torch.Generator().manual_seed(0)
    ref = torch.randn(4, 2, 4000, generator=gen, dtype=torch.float64) + 0.3
    est = 0.7 * ref + 0.4 * torch.randn(4, 2, 4000, generator=gen, dtype=torch.float64)
    assert torch.allclose(si_sdr(est, ref), scale_invariant_signal_distortion_ratio(est, ref, zero_mean=True), atol=1e-6)
    assert torch.allclose(sdr(est, ref), signal_distortion_ratio(est, ref), atol=1e-4)
    assert si_sdr(3 * ref, ref).min() > 100                 # scale-invariant: a louder copy is perfect


def test_pit_scores_equal_torchmetrics(mixtures):
    gen = torch.Generator().manual_seed(1)
    sources = mixtures["sources"].double()
    estimates = sources.flip(1) + 0.02 * torch.randn(sources.shape, generator=gen, dtype=torch.float64)
    estimates[:4] = sources[:4] + 0.05 * torch.randn(sources[:4].shape, generator=gen, dtype=torch.float64)
    scores = sep.separation_scores(estimates, sources, mixtures["mixture"].double(), with_sdr=False)
    best, perm = permutation_invariant_training(estimates, sources, scale_invariant_signal_distortion_ratio,
                                                mode="speaker-wise", eval_func="max", zero_mean=True)
    base = si_sdr(mixtures["mixture"][:, None].double().expand_as(sources), sources).mean(1)
    assert torch.allclose(scores["si_sdri_pit"].mean(1), best - base, atol=1e-5)
    assert scores["assigned"].tolist() == (perm[:, 0] == 0).tolist() == [True] * 4 + [False] * 8
    assert (scores["si_sdri"][4:] < 0).all()                 # in the given order the flipped outputs are wrong


def test_pit_loss_takes_the_better_assignment():
    ref = torch.randn(3, 2, 2, 4, 5)
    assert sep.pit_loss(ref.flip(1), ref) == 0
    per_order = [sep.spectrogram_loss(ref[:, list(o)] * 0.5, ref) for o in itertools.permutations(range(2))]
    assert torch.isclose(sep.pit_loss(ref * 0.5, ref), torch.stack(per_order, 1).min(1).values.mean())
    assert sep.spectrogram_loss(ref.flip(1), ref).mean() > 0


def test_oracle_masks_separate(mixtures):
    oracle = sep.oracle_masks(mixtures["mixture"], mixtures["sources"])
    for name, estimates in oracle.items():
        row = sep.summarize(sep.separation_scores(estimates, mixtures["sources"], mixtures["mixture"], with_sdr=False))
        # 1-s mixtures at the paper's STFT: about 9 dB for both (2-s mixtures: 10-11 dB); the order is the sources'
        assert row["SI-SDRi"] > 7, name
        assert row["SI-SDRi"] == row["SI-SDRi, best order"] and row["output k is speaker k"] == 1.0, name


def test_best_order_scores_forgive_a_swap(mixtures):
    estimates = mixtures["sources"][:4] + 0.2 * mixtures["mixture"][:4, None]        # each output leans to its speaker
    batch = {k: v[:4] for k, v in mixtures.items()}
    right = sep.separation_scores(estimates, batch["sources"], batch["mixture"])
    swapped = sep.separation_scores(estimates.flip(1), batch["sources"], batch["mixture"])
    assert right["assigned"].all() and not swapped["assigned"].any()
    assert torch.allclose(swapped["si_sdri_pit"].mean(1), right["si_sdri"].mean(1), atol=1e-4)
    assert torch.allclose(swapped["sdri_pit"], right["sdri"], atol=1e-4)            # per speaker, in the sources' order
    assert (swapped["si_sdri"] < right["si_sdri"]).all() and torch.equal(right["sdri_pit"], right["sdri"])


def test_the_visual_network_refuses_to_run_without_faces():
    model = sep.Separator(sep.SeparatorConfig(lstm=8, fc=8))
    with pytest.raises(ValueError, match="pass faces"):
        model(torch.zeros(1, 2, 257, 11))


def test_a_separator_overfits_one_mixture(mixtures):
    frames = slice(6, 18)                                # 0.48 s from the middle: 12 video frames, 49 STFT frames
    samples = slice(6 * SAMPLE_RATE // FPS, 18 * SAMPLE_RATE // FPS)
    one = {"mixture": mixtures["mixture"][:1, samples], "sources": mixtures["sources"][:1, :, samples],
           "faces": mixtures["faces"][:1, :, frames]}
    torch.manual_seed(0)
    model = sep.Separator(sep.SeparatorConfig(lstm=64, fc=128))
    loss = sep.training_loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(STEPS_TO_OVERFIT):
        optimizer.zero_grad()
        loss(model, one).backward()
        optimizer.step()
    model.train()                      # one mixture: keep batch statistics, as during training
    with torch.no_grad():
        mix = sep.compressed_channels(one["mixture"])
        estimates = sep.to_wave(sep.apply_mask(model(mix, one["faces"]), mix[:, None]), one["mixture"].shape[-1])
    scores = sep.separation_scores(estimates, one["sources"], one["mixture"], with_sdr=False)
    assert scores["si_sdri"].mean() > 15


@pytest.mark.parametrize("name", ["audio-visual", "audio-only"])
def test_shipped_separators_load_and_separate(name, mixtures):
    model = sep.load_separator(name)
    estimates = sep.separate(model, mixtures["mixture"], mixtures["faces"])
    scores = sep.separation_scores(estimates, mixtures["sources"], mixtures["mixture"], with_sdr=False)
    assert scores["si_sdri_pit"].mean() > 3


def test_the_audio_visual_order_follows_the_faces(mixtures):
    model = sep.load_separator("audio-visual")
    faces = mixtures["faces"]
    as_given = sep.separation_scores(sep.separate(model, mixtures["mixture"], faces), mixtures["sources"],
                                     mixtures["mixture"], with_sdr=False)
    swapped = sep.separation_scores(sep.separate(model, mixtures["mixture"], faces.flip(1)), mixtures["sources"],
                                    mixtures["mixture"], with_sdr=False)
    assert as_given["assigned"].float().mean() >= 0.9
    assert swapped["assigned"].float().mean() <= 0.1         # swap the faces and the voices swap


def test_shipped_weights_are_small_and_checked(tmp_path):
    for path in sep.CHECKPOINTS.values():
        assert path.stat().st_size < 3e6
    broken = tmp_path / "separator_av.pt"
    broken.write_bytes(sep.CHECKPOINTS["audio-visual"].read_bytes()[:1000])
    (tmp_path / "separator_av.pt.sha256").write_text("0" * 64 + "  separator_av.pt\n")
    with pytest.raises(ChecksumMismatch, match="does not match its recorded sha256"):
        sep.load_separator("audio-visual", broken)
