import random

import numpy as np
import pytest
import torch

from mmlearn import by_profile, core, pick_device, profile, seed_everything


def draw():
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()


def test_seed_everything_repeats_python_numpy_and_torch():
    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


def test_pick_device_honours_environment(monkeypatch):
    monkeypatch.setenv("MMLEARN_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    monkeypatch.delenv("MMLEARN_DEVICE")
    assert pick_device().type in {"cuda", "mps", "cpu"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_pick_device_refuses_missing_cuda_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("MMLEARN_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        pick_device()


@pytest.mark.parametrize("name, expected", [("ci", 1), ("default", 2), ("full", 3), ("", 2), (" FULL ", 3)])
def test_by_profile_picks_the_profiles_value(monkeypatch, name, expected):
    monkeypatch.setenv("MMLEARN_PROFILE", name)
    assert by_profile(ci=1, default=2, full=3) == expected


def test_by_profile_full_falls_back_to_default(monkeypatch):
    monkeypatch.setenv("MMLEARN_PROFILE", "full")
    assert by_profile(ci=1, default=2) == 2


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MMLEARN_PROFILE", "fast")
    with pytest.raises(ValueError, match="ci, default, full"):
        profile()


def test_atomic_write_replaces_only_on_success(tmp_path):
    from mmlearn.core import atomic_write

    target = tmp_path / "sub" / "file.txt"
    with atomic_write(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "first" and [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_inference_turns_gradients_off_and_restores_each_mode_even_after_an_error():
    training, frozen = torch.nn.Linear(2, 2).train(), torch.nn.Dropout().eval()
    with pytest.raises(RuntimeError, match="inside"):
        with core.inference(training, frozen):
            assert not training.training and not frozen.training and not torch.is_grad_enabled()
            raise RuntimeError("inside")
    assert training.training and not frozen.training and torch.is_grad_enabled()


def test_in_batches_equals_one_big_batch_for_tensors_tuples_dicts_and_none():
    x, y = torch.randn(10, 3), torch.arange(10)
    seen = []

    def fn(x, y, nothing):
        seen.append(len(x))
        assert nothing is None
        return x.sum(1), {"y": y * 2}, None

    total, parts, none = core.in_batches(fn, x, y, None, batch_size=4, device="cpu")
    assert seen == [4, 4, 2] and none is None
    assert torch.allclose(total, x.sum(1)) and torch.equal(parts["y"], y * 2)
    assert core.in_batches(lambda words: torch.tensor([len(w) for w in words]), ["a", "bb", "ccc"],
                           batch_size=2).tolist() == [1, 2, 3]
