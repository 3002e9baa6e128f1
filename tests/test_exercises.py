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
