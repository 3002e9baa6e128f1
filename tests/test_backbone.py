import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from mmlearn import backbone
from mmlearn.train import fit
from mmlearn.world import SHAPES, World
from mmlearn.core import images_to_tensor
from mmlearn.core import ChecksumMismatch


@pytest.fixture(scope="module")
def scenes():
    return World().split("val", 64, language=False).scenes


def test_world_cnn_gives_an_8x8_grid_and_the_extractor_is_frozen(scenes):
    extractor = backbone.Extractor(backbone.WorldCNN())
    grid, pooled = extractor(images_to_tensor(scenes.image[:4]))
    assert grid.shape == (4, 64, 8, 8) and pooled.shape == (4, 64)
    assert torch.allclose(pooled, grid.mean((2, 3)))
    assert not any(p.requires_grad for p in extractor.parameters())
    extractor.train()
    assert not extractor.training  # batch-norm statistics stay put


def test_a_torchvision_resnet_fits_the_same_api():
    extractor = backbone.Extractor(torchvision.models.resnet18(weights=None))
    grid, pooled = extractor(torch.rand(2, 3, 64, 64))
    assert grid.shape == (2, 512, 2, 2) and pooled.shape == (2, 512) and extractor.out_channels == 512


def test_cell_targets_name_the_object_under_each_cell(scenes):
    targets = backbone.cell_targets(scenes)
    assert targets["shape"].shape == (64, 8, 8)
    checked = 0
    for i in range(len(scenes)):
        for k in np.flatnonzero(scenes.present[i] & (scenes.size[i] == 1)):  # large objects cover their centre cell
            x, y = scenes.center[i, k]
            cx, cy = int(x // 4), int(y // 4)
            assert targets["presence"][i, cy, cx] == 1
            assert targets["shape"][i, cy, cx] == scenes.shape[i, k], SHAPES[scenes.shape[i, k]]
            checked += 1
    assert checked > 20
    empty = targets["presence"] == 0
    assert (targets["color"][empty] == -100).all() and empty.mean() > 0.3


def test_pretraining_overfits_a_tiny_batch(scenes):
    targets = {k: torch.from_numpy(v[:16]) for k, v in backbone.cell_targets(scenes).items()}
    images, place = images_to_tensor(scenes.image[:16]), torch.from_numpy(scenes.place[:16])
    model = torch.nn.ModuleDict({"trunk": backbone.WorldCNN(), "heads": backbone.PretrainHeads()})
    loss_fn = lambda m, b: backbone.pretrain_loss(m["trunk"], m["heads"], images, place, targets)  # noqa: E731
    history = fit(model, loss_fn, [None], steps=120, lr=3e-3, seed=0, progress=False)
    assert history.loss[0] > 3 and history.loss[-1] < 0.3


def copy_checkpoint(tmp_path):
    path = tmp_path / "bb.pt"
    shutil.copy(backbone.CHECKPOINT, path)
    shutil.copy(f"{backbone.CHECKPOINT}.sha256", f"{path}.sha256")
    return path


def test_load_verifies_the_checksum(tmp_path):
    path = copy_checkpoint(tmp_path)
    backbone.load(path, retrain=False)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="does not match its recorded sha256"):
        backbone.load(path, retrain=False)
    path.unlink()
    with pytest.raises(FileNotFoundError, match="is missing.*pretrain_backbone.py"):
        backbone.load(path, retrain=False)


def test_load_retrains_a_missing_checkpoint_with_a_message(tmp_path, capsys):
    path = tmp_path / "new.pt"
    extractor = backbone.load(path, steps=3, pool=64, progress=False)
    assert "is missing; retraining it now" in capsys.readouterr().out
    assert path.exists() and backbone.sha256(path) in open(f"{path}.sha256").read()
    assert extractor(torch.rand(1, 3, 32, 32))[0].shape == (1, 64, 8, 8)


def test_the_shipped_backbone_knows_what_is_where():
    assert backbone.CHECKPOINT.stat().st_size < 5e6
    results = backbone.probe_report(backbone.load(retrain=False), n_train=1_000, n_test=500)
    assert results["place (pooled)"] > 0.95
    assert results["presence (per cell)"] > 0.9
    assert results["shape (per cell)"] > 0.8
    assert results["color (per cell)"] > 0.9
    assert results["size (per cell)"] > 0.9


def test_features_are_cached_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("MMLEARN_CACHE", str(tmp_path))
    world = World()
    grid, pooled = backbone.cached_features(world, "val", 40)
    [file] = list(tmp_path.iterdir())
    assert file.name.startswith("features-v2-32-3-0-val-40-")
    again = backbone.cached_features(world, "val", 40)
    assert torch.equal(again[0], grid) and torch.equal(again[1], pooled)
    assert grid.shape == (40, 64, 8, 8)


def test_fewer_scenes_are_sliced_from_a_larger_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMLEARN_CACHE", str(tmp_path))
    world = World()
    grid, pooled = backbone.cached_features(world, "val", 30)
    capsys.readouterr()
    part = backbone.cached_features(world, "val", 12)
    assert "cached" not in capsys.readouterr().out and len(list(tmp_path.iterdir())) == 1     # nothing computed
    assert torch.equal(part[0], grid[:12]) and torch.equal(part[1], pooled[:12])
    monkeypatch.setenv("MMLEARN_CACHE", str(tmp_path / "fresh"))
    fresh = backbone.cached_features(world, "val", 12)                  # computed alone: the same features
    assert torch.allclose(fresh[0], part[0], atol=1e-6) and torch.allclose(fresh[1], part[1], atol=1e-6)


def test_the_feature_cache_is_keyed_on_the_extractor(tmp_path, monkeypatch):
    monkeypatch.setenv("MMLEARN_CACHE", str(tmp_path))
    world = World()
    default = backbone.cached_features(world, "val", 20)
    torch.manual_seed(1)
    other = backbone.Extractor(backbone.WorldCNN())                     # untrained: other features
    theirs = backbone.cached_features(world, "val", 20, extractor=other)
    assert not torch.allclose(theirs[0], default[0])
    assert torch.equal(backbone.cached_features(world, "val", 20)[0], default[0])          # not overwritten
    assert torch.equal(backbone.cached_features(world, "val", 20, extractor=other)[0], theirs[0])
    assert len(list(tmp_path.iterdir())) == 2
    assert backbone.fingerprint(other) != backbone.fingerprint(backbone.load(retrain=False))


@pytest.mark.parametrize("content", ["garbage", "wrong shape", "missing key", "a list"])
def test_a_bad_cache_file_is_named_and_recomputed(tmp_path, monkeypatch, capsys, content):
    monkeypatch.setenv("MMLEARN_CACHE", str(tmp_path))
    world = World()
    good = backbone.cached_features(world, "val", 12)
    [file] = list(tmp_path.iterdir())
    if content == "garbage":
        file.write_bytes(b"\x00not a torch file")
    elif content == "wrong shape":
        torch.save({"grid": good[0][:5], "pooled": good[1][:5]}, file)
    elif content == "missing key":
        torch.save({"grid": good[0]}, file)
    else:
        torch.save([good[0], good[1]], file)
    capsys.readouterr()
    again = backbone.cached_features(world, "val", 12)
    out = capsys.readouterr().out
    assert str(file) in out and "recomputing" in out and "weights_only=False" not in out
    assert torch.equal(again[0], good[0]) and torch.equal(again[1], good[1])


def test_a_corrupt_checkpoint_is_named_and_never_overwritten(tmp_path):
    path = copy_checkpoint(tmp_path)
    original = path.read_bytes()
    path.write_bytes(original[: len(original) // 2])                    # truncated
    before = path.read_bytes()
    with pytest.raises(ChecksumMismatch, match="does not match its recorded sha256.*left as it is"):
        backbone.load(path)                                              # retrain=True, yet nothing overwritten
    assert path.read_bytes() == before
    path.with_name("bb.pt.sha256").write_text(f"{backbone.sha256(path)}  bb.pt\n")   # checksum of the bad file
    with pytest.raises(backbone.DatasetFormatError, match="bb.pt: not a valid world backbone checkpoint") as error:
        backbone.load(path)
    assert "weights_only" not in str(error.value)
    Path(f"{path}.sha256").unlink()
    with pytest.raises(FileNotFoundError, match="checksum\\) is missing"):
        backbone.load(path)
    assert path.read_bytes() == before
