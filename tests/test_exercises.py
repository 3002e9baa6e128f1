import pytest
import torch

from mmlearn import audio
from mmlearn import exercises as check


def test_reference_stft_equals_torch_stft():
    wave = torch.randn(2, 3000, dtype=torch.float64)
    for n_fft, hop in [(256, 128), (400, 160), (64, 64)]:
        assert torch.allclose(audio.stft_magnitude(wave, n_fft, hop), audio.torch_stft_magnitude(wave, n_fft, hop))


def test_frame_rejects_a_wave_shorter_than_a_frame():
    with pytest.raises(ValueError, match="shorter than one frame"):
        audio.frame(torch.zeros(100), 256, 128)


def test_stft_checker_passes_the_reference(capsys):
    check.stft_magnitude(audio.stft_magnitude)
    assert "passed" in capsys.readouterr().out


def windowless(wave, n_fft, hop):
    return torch.fft.rfft(wave.unfold(-1, n_fft, hop), dim=-1).abs().transpose(-1, -2)


def power(wave, n_fft, hop):
    return audio.stft_magnitude(wave, n_fft, hop) ** 2


def frames_first(wave, n_fft, hop):
    return audio.stft_magnitude(wave, n_fft, hop).transpose(-1, -2)


def complex_result(wave, n_fft, hop):
    frames = wave.unfold(-1, n_fft, hop) * torch.hamming_window(n_fft, dtype=wave.dtype)
    return torch.fft.rfft(frames, dim=-1).transpose(-1, -2)


def full_fft(wave, n_fft, hop):
    frames = wave.unfold(-1, n_fft, hop) * torch.hamming_window(n_fft, dtype=wave.dtype)
    return torch.fft.fft(frames, dim=-1).abs().transpose(-1, -2)


def symmetric_window(wave, n_fft, hop):
    frames = wave.unfold(-1, n_fft, hop) * torch.hamming_window(n_fft, periodic=False, dtype=wave.dtype)
    return torch.fft.rfft(frames, dim=-1).abs().transpose(-1, -2)


def flattens_batch(wave, n_fft, hop):
    return audio.stft_magnitude(wave.reshape(-1, wave.shape[-1]), n_fft, hop)


def crashes(wave, n_fft, hop):
    return wave.unfold(0, n_fft, hop).matmul(torch.zeros(3))


@pytest.mark.parametrize("wrong, hint", [
    (windowless, "no window"),
    (power, "power"),
    (frames_first, "axes swapped"),
    (complex_result, "complex"),
    (full_fft, "rfft"),
    (symmetric_window, "symmetric Hamming"),
    (flattens_batch, "leading batch dimensions"),
    (crashes, "raised RuntimeError"),
])
def test_stft_checker_rejects_typical_mistakes_with_a_specific_hint(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.stft_magnitude(wrong)


def test_stft_checker_lets_the_students_not_implemented_through():
    def todo(wave, n_fft, hop):
        raise NotImplementedError("Exercise 00.1: ...")

    with pytest.raises(NotImplementedError):
        check.stft_magnitude(todo)


def test_every_checker_a_notebook_calls_is_exported():
    import json
    import re
    from pathlib import Path

    called = set()
    for path in (Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            called |= set(re.findall(r"check\.([a-z_]+)\(", "".join(cell["source"])))
    assert called, "no checker calls found in the notebooks"
    assert called <= set(check.__all__), called - set(check.__all__)
    assert all(callable(getattr(check, name, None)) for name in called)


def _float32(out):
    if torch.is_tensor(out):
        return out.float() if out.is_floating_point() else out
    return tuple(_float32(o) for o in out) if isinstance(out, tuple) else out


def _soft_attention(features, hidden, encoder_att, decoder_att, full_att):
    energy = full_att(torch.tanh(encoder_att(features) + decoder_att(hidden).unsqueeze(1))).squeeze(2)
    alpha = energy.softmax(dim=1)
    return (alpha.unsqueeze(2) * features).sum(dim=1), alpha


def _references():
    from mmlearn import captioning, gan, localization, metrics, retrieval, separation, soundnet, word2vec
    from mmlearn.fusion import append_one
    unit = lambda x: torch.nn.functional.normalize(x, dim=-1)  # noqa: E731
    return {
        "audio_visual_map": lambda cells, audio: localization.attention_map(unit(cells), unit(audio)),
        "ezvsl_loss": localization.ezvsl_loss, "ciou": metrics.ciou, "apply_mask": separation.apply_mask, "si_sdr": metrics.si_sdr,
        "matching_aware_loss": lambda real, wrong, fake: gan.discriminator_loss(real, fake, wrong),
        "conditioning_augmentation": lambda mu, logvar, eps: (mu + torch.exp(0.5 * logvar) * eps,
                                                              gan.kl_to_standard_normal(mu, logvar)),
        "conv_length": soundnet.conv_length,
        "distillation_loss": soundnet.distillation_loss,
        "stft_magnitude": audio.stft_magnitude, "vse_loss": retrieval.vse_loss, "infonce_loss": retrieval.infonce_loss,
        "soft_attention": _soft_attention, "beam_step": captioning.beam_step, "sgns_loss": word2vec.sgns_loss,
        "keep_probability": word2vec.keep_probability,
        "tensor_fusion": lambda x, y: torch.einsum("bi,bj->bij", append_one(x), append_one(y)).flatten(1),
        "low_rank_fusion": lambda x, y, fx, fy, w, b: (torch.einsum("bi,rio->bro", append_one(x), fx)
                                                        * torch.einsum("bj,rjo->bro", append_one(y), fy)
                                                        * w[:, None]).sum(1) + b,
    }


@pytest.mark.parametrize("name", sorted(_references()))
def test_every_checker_accepts_a_correct_answer_computed_in_float32(name, capsys):
    reference = _references()[name]
    getattr(check, name)(lambda *args: _float32(reference(*args)))
    assert "passed" in capsys.readouterr().out


def test_every_exported_checker_has_a_float32_test():
    assert set(_references()) == set(check.__all__) - {"ExerciseFailed"}
