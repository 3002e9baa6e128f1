"""The world backbone: a small ResNet pretrained on world scenes — the course's "ImageNet CNN".

Real multimodal systems start from a pretrained, frozen image encoder and precomputed features; so do
our notebooks. The backbone is trained once (scripts/pretrain_backbone.py, a few minutes on 2 cores)
with multi-task supervision that makes its *grid* features know what is where: the place from the
pooled feature, and for every grid cell whether an object covers it and that object's shape, colour
and size.

    extractor = backbone.load()                  # frozen; verifies data/world_backbone.pt's sha256
    grid, pooled = extractor(images)              # (B, 3, 32, 32) -> (B, 64, 8, 8), (B, 64)
    grid, pooled = backbone.cached_features(world, "train", 5_000)   # computed once, then from disk

`Extractor(torchvision.models.resnet18(...))` gives the same interface over a torchvision ResNet for
real photos (load its weights yourself: nothing is downloaded here).
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .core import (DATA, DatasetFormatError, atomic_write, cache_dir, finish_interrupted_write, grid_to_cells,
                   images_to_tensor, in_batches, inference, load_checkpoint, load_weights, save_checkpoint, seed_everything, sha256)
from .metrics import linear_probe
from .train import History, batches_of, fit
from .world import COLORS, PLACES, SHAPES, SIZES, VERSION, World

CHECKPOINT = DATA / "world_backbone.pt"
CHANNELS = 64
GRID = 8  # cells per side at the default 32x32 input (stride 4)
WORLD_MEAN = (0.42, 0.45, 0.45)
WORLD_STD = (0.25, 0.24, 0.27)


# ----------------------------------------------------------------------------------------- the network
class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: two 3x3 convs with batch norm and a (projected) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class WorldCNN(nn.Module):
    """(B, 3, H, W) in [0, 1] -> grid features (B, 64, H/4, W/4)."""

    def __init__(self, channels: int = CHANNELS):
        super().__init__()
        self.register_buffer("mean", torch.tensor(WORLD_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(WORLD_STD).view(1, 3, 1, 1))
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.layer1 = BasicBlock(32, 32)
        self.layer2 = BasicBlock(32, 48, stride=2)
        self.layer3 = BasicBlock(48, channels, stride=2)
        self.out_channels = channels

    def forward(self, x):
        x = (x - self.mean) / self.std
        return self.layer3(self.layer2(self.layer1(self.stem(x))))


class Extractor(nn.Module):
    """Frozen feature extractor: images (B, 3, H, W) in [0, 1] -> (grid (B, C, h, w), pooled (B, C)).

    `trunk` is a WorldCNN, or a torchvision ResNet (its layers up to layer4 are used, with ImageNet
    normalisation).
    """

    def __init__(self, trunk: nn.Module):
        super().__init__()
        if hasattr(trunk, "layer4"):  # a torchvision ResNet
            self.trunk = nn.Sequential(trunk.conv1, trunk.bn1, trunk.relu, trunk.maxpool,
                                       trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4)
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
            self.out_channels = trunk.fc.in_features
        else:
            self.trunk = trunk
            self.register_buffer("mean", torch.zeros(1, 3, 1, 1))
            self.register_buffer("std", torch.ones(1, 3, 1, 1))  # WorldCNN normalises itself
            self.out_channels = trunk.out_channels
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)  # frozen: batch-norm statistics never move

    def forward(self, images):
        grid = self.trunk((images - self.mean) / self.std)
        return grid, grid.mean(dim=(2, 3))


# ----------------------------------------------------------------------------------------- pretraining
class PretrainHeads(nn.Module):
    """Place from the pooled feature; per cell: presence, shape, colour and size (1x1 convolutions)."""

    def __init__(self, channels: int = CHANNELS):
        super().__init__()
        self.place = nn.Linear(channels, len(PLACES))
        self.cell = nn.Conv2d(channels, 1 + len(SHAPES) + len(COLORS) + len(SIZES), 1)
        self.splits = (1, len(SHAPES), len(COLORS), len(SIZES))

    def forward(self, grid):
        return self.place(grid.mean(dim=(2, 3))), self.cell(grid).split(self.splits, dim=1)


def cell_targets(scenes, grid: int = GRID, min_cover: float = 0.25) -> dict[str, np.ndarray]:
    """Per-cell ground truth (N, grid, grid): which object covers each cell most (if >= min_cover of it).

    Returns presence (0/1) and shape / color / size indices, -100 (ignored by the loss) where no object.
    """
    n, k, h, w = scenes.mask.shape
    cover = scenes.mask.reshape(n, k, grid, h // grid, grid, w // grid).mean(axis=(3, 5))   # (N, K, g, g)
    best = cover.argmax(axis=1)
    present = np.take_along_axis(cover, best[:, None], 1)[:, 0] >= min_cover
    out = {"presence": present.astype(np.float32)}
    for name in ("shape", "color", "size"):
        values = np.take_along_axis(getattr(scenes, name)[:, :, None, None].repeat(grid, 2).repeat(grid, 3),
                                    best[:, None], 1)[:, 0]
        out[name] = np.where(present, values, -100).astype(np.int64)
    return out


def pretrain_loss(trunk, heads, images, place, targets):
    """Sum of the place loss and the per-cell presence / shape / colour / size losses; also their accuracies."""
    place_logits, (presence, shape, color, size) = heads(trunk(images))
    loss = F.cross_entropy(place_logits, place)
    loss = loss + F.binary_cross_entropy_with_logits(presence[:, 0], targets["presence"])
    for logits, name in [(shape, "shape"), (color, "color"), (size, "size")]:
        loss = loss + F.cross_entropy(logits, targets[name], ignore_index=-100)
    return loss


def pretrain(steps: int = 1_500, batch_size: int = 128, pool: int = 40_000, seed: int = 0, lr: float = 3e-3,
             progress: bool = True) -> tuple[WorldCNN, History]:
    """Train a WorldCNN on `pool` world training scenes for `steps` steps; return the trunk and its History."""
    seed_everything(seed)
    split = World().split("train", pool, language=False)
    targets = {k: torch.from_numpy(v) for k, v in cell_targets(split.scenes).items()}
    images = images_to_tensor(split.scenes.image)
    place = torch.from_numpy(split.scenes.place)
    trunk, heads = WorldCNN(), PretrainHeads()
    model = nn.ModuleDict({"trunk": trunk, "heads": heads})
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 1), pct_start=0.15)
    stream = batches_of(images, place, targets["presence"], targets["shape"], targets["color"], targets["size"],
                        batch_size=batch_size)

    def loss_fn(model, batch):
        x, p, presence, shape, color, size = batch
        return pretrain_loss(model["trunk"], model["heads"], x, p,
                             {"presence": presence, "shape": shape, "color": color, "size": size})

    history = fit(model, loss_fn, stream, steps, optimizer=optimizer, scheduler=schedule, seed=seed,
                  desc="pretraining the world backbone", progress=progress)
    return trunk.eval(), history


# ----------------------------------------------------------------------------------------- checkpoint
def load(path: str | Path = CHECKPOINT, retrain: bool = True, **pretrain_kwargs) -> Extractor:
    """The frozen world backbone. Checks the checkpoint against its recorded sha256.

    A *missing* checkpoint is retrained (a few minutes; retrain=False raises instead). An existing one
    that is corrupt, changed or without its checksum is never overwritten here: the error says how to
    restore or rebuild it. A file that is not a WorldCNN checkpoint raises DatasetFormatError naming it."""
    path = Path(path)
    rebuild = "Restore it (`git checkout -- data/`) or rebuild it with `python scripts/pretrain_backbone.py`."
    finish_interrupted_write(path.parent)  # a save killed while swapping in the new pair
    if not path.exists():
        if not retrain:
            raise FileNotFoundError(f"world backbone: {path} is missing. Run `python scripts/pretrain_backbone.py` "
                                    "to rebuild it.")
        print(f"world backbone: {path} is missing; retraining it now (a few minutes; "
              "`python scripts/pretrain_backbone.py` does the same) ...", flush=True)
        save_checkpoint(pretrain(**pretrain_kwargs)[0], path)
    return Extractor(load_checkpoint(WorldCNN(), path, "world backbone", rebuild))


# ----------------------------------------------------------------------------------------- features
def extract(extractor: Extractor, images, batch_size: int = 512, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Grid (N, C, h, w) and pooled (N, C) features of images: uint8 (N, H, W, 3) or float (N, 3, H, W)."""
    device = device or next(extractor.parameters()).device

    def features(chunk):
        x = images_to_tensor(chunk) if isinstance(chunk, np.ndarray) else chunk
        return extractor(x.to(device))

    with inference(extractor):
        return in_batches(features, images, batch_size=batch_size)


def fingerprint(extractor: nn.Module) -> str:
    """12 hex digits of a sha256 over an extractor's class and every weight and buffer (names, shapes,
    values): two extractors share a fingerprint only if they compute the same features."""
    h = hashlib.sha256(type(extractor.trunk if hasattr(extractor, "trunk") else extractor).__name__.encode())
    for name, tensor in extractor.state_dict().items():
        h.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def _cached(file: Path, n: int):
    """(grid, pooled) from a cache file, or None (saying why) if it is unreadable or not n scenes' features."""
    try:
        data = load_weights(file, "feature cache")
    except DatasetFormatError as error:
        print(f"{error}; recomputing it")
        return None
    grid, pooled = data.get("grid"), data.get("pooled")
    ok = (torch.is_tensor(grid) and torch.is_tensor(pooled) and grid.ndim == 4 and len(grid) == n
          and pooled.shape == grid.shape[:2])
    if not ok:
        print(f"{file}: not the features of {n} scenes (keys {sorted(data)}); recomputing it")
        return None
    return grid, pooled


def _cached_sizes(prefix: str, digest: str, above: int) -> list[int]:
    """The scene counts n > `above` of the cache files named prefix + n + digest."""
    sizes = []
    for file in cache_dir().glob(f"{prefix}*-{digest}.pt"):
        count = file.name[len(prefix):-len(f"-{digest}.pt")]
        if count.isdigit() and int(count) > above:
            sizes.append(int(count))
    return sizes


def cached_features(world, split: str, n: int, extractor: Extractor | None = None, path: str | Path = CHECKPOINT):
    """Features (grid, pooled) of the first n scenes of a world split, computed once and cached on disk (or
    sliced from the cache of a larger n of the same split: the first n scenes of a split do not depend on n).

    The cache key holds the world's settings and what computes the features: the checkpoint's sha256 for
    the world backbone (extractor=None), else the fingerprint of the given extractor's weights. A cache
    file that is unreadable, or of the wrong shape, is named and recomputed, never returned. Files are
    written atomically, so an interrupted run never leaves half a cache.
    """
    if extractor is None:
        digest = "ckpt-" + (sha256(path)[:12] if Path(path).exists() else "none")
    else:
        digest = "net-" + fingerprint(extractor)
    prefix = f"features-v{VERSION}-{world.size}-{world.max_objects}-{world.seed}-{split}-"
    file = cache_dir() / f"{prefix}{n}-{digest}.pt"
    if file.exists() and (cached := _cached(file, n)) is not None:
        return cached
    for larger in sorted(_cached_sizes(prefix, digest, above=n)):     # a split's first n scenes are a prefix of it
        if (cached := _cached(cache_dir() / f"{prefix}{larger}-{digest}.pt", larger)) is not None:
            return cached[0][:n].clone(), cached[1][:n].clone()
    extractor = extractor or load(path)
    start = time.perf_counter()
    grid, pooled = extract(extractor, world.split(split, n, language=False).scenes.image)
    with atomic_write(file) as tmp:
        torch.save({"grid": grid, "pooled": pooled}, tmp)
    print(f"cached {split} features of {n} scenes in {time.perf_counter() - start:.1f} s -> {file.name}")
    return grid, pooled


# ----------------------------------------------------------------------------------------- probes
def probe_report(extractor: Extractor, n_train: int = 5_000, n_test: int = 2_000, seed: int = 0) -> dict:
    """Linear-probe accuracies of frozen features (place; per-cell presence/shape/colour/size) and images/s."""
    seed_everything(seed)
    world = World()
    train, test = world.split("train", n_train, language=False).scenes, world.split("test", n_test, language=False).scenes
    start = time.perf_counter()
    train_grid, train_pooled = extract(extractor, train.image)
    speed = n_train / (time.perf_counter() - start)
    test_grid, test_pooled = extract(extractor, test.image)
    results = {"place (pooled)": linear_probe(train_pooled, torch.from_numpy(train.place),
                                              test_pooled, torch.from_numpy(test.place))}
    cells = lambda g: grid_to_cells(g).flatten(0, 1)  # noqa: E731  (N*h*w, C)
    train_t, test_t = cell_targets(train, train_grid.shape[-1]), cell_targets(test, test_grid.shape[-1])
    for name in ("presence", "shape", "color", "size"):
        ytr, yte = (torch.from_numpy(t[name]).reshape(-1).long() for t in (train_t, test_t))
        keep_tr, keep_te = (ytr >= 0), (yte >= 0)
        results[f"{name} (per cell)"] = linear_probe(cells(train_grid)[keep_tr], ytr[keep_tr],
                                                     cells(test_grid)[keep_te], yte[keep_te])
    results["images/s"] = speed
    for name, value in results.items():
        print(f"{name:>22s}: {value:.3f}" if name != "images/s" else f"{name:>22s}: {value:.0f}")
    return results
