import os
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


def test_a_checkpoint_saved_in_half_loads_back_in_the_module_s_dtype(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).train()
    path = tmp_path / "net.pt"
    digest = core.save_checkpoint(net, path, half=True)
    assert (tmp_path / "net.pt.sha256").read_text().split()[0] == digest == core.sha256(path)
    assert torch.load(path, weights_only=True)["0.weight"].dtype == torch.float16          # half the size on disk
    assert torch.load(path, weights_only=True)["1.num_batches_tracked"].dtype == torch.int64
    fresh = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    loaded = core.load_checkpoint(fresh, path, "toy net", "rebuild it")
    assert loaded is fresh and not loaded.training and loaded[0].weight.dtype == torch.float32
    assert torch.allclose(loaded[0].weight, net[0].weight, atol=1e-3)                    # float16's precision


def test_a_changed_checkpoint_is_refused_and_left_as_it_is(tmp_path):
    net = torch.nn.Linear(2, 2)
    path = tmp_path / "net.pt"
    core.save_checkpoint(net, path)
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))                                 # one bit flipped
    before = path.read_bytes()
    with pytest.raises(core.ChecksumMismatch, match="does not match its recorded sha256.*rebuild it"):
        core.load_checkpoint(torch.nn.Linear(2, 2), path, "toy net", "rebuild it")
    assert path.read_bytes() == before


def test_a_broken_checksum_record_a_folder_and_another_architecture_are_named(tmp_path):
    path = tmp_path / "net.pt"
    core.save_checkpoint(torch.nn.Linear(2, 2), path)
    (tmp_path / "net.pt.sha256").write_text("")                                      # an empty record
    with pytest.raises(core.ChecksumMismatch, match=r"net.pt.sha256 holds no sha256.*rebuild it"):
        core.load_checkpoint(torch.nn.Linear(2, 2), path, "toy net", "rebuild it")
    core.save_checkpoint(torch.nn.Linear(2, 2), path)
    with pytest.raises(core.DatasetFormatError, match=r"net.pt: not a toy net checkpoint for this architecture"):
        core.load_checkpoint(torch.nn.Linear(3, 2), path, "toy net", "rebuild it")   # another shape
    folder = tmp_path / "folder.pt"
    folder.mkdir()
    with pytest.raises(core.ChecksumMismatch, match="folder.pt is a folder, not a checkpoint file"):
        core.load_checkpoint(torch.nn.Linear(2, 2), folder, "toy net", "rebuild it")


def test_a_killed_writer_s_temporary_file_is_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.json.{int(dead.stdout)}.tmp"          # a process that no longer runs
    stale.write_text("half a file")
    live = tmp_path / f".out.json.{os.getppid()}.tmp"               # a process that does: left alone
    live.write_text("being written")
    core.write_json(tmp_path / "out.json", {"a": 1})
    assert not stale.exists() and live.exists() and core.read_json(tmp_path / "out.json") == {"a": 1}


def test_read_text_names_a_file_in_another_encoding(tmp_path):
    path = tmp_path / "captions.txt"
    path.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(core.DatasetFormatError, match=r"captions.txt: not UTF-8 text \(invalid continuation byte at byte 3\)"):
        core.read_text(path, "a caption file")
    path.write_bytes("\ufeffhello".encode("utf-8"))
    assert core.read_text(path, "a caption file") == "hello"                         # a byte-order mark is fine

