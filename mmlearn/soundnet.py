"""Notebook 06: SoundNet — vision teaches hearing, without a single label.

Aytar, Vondrick & Torralba, "SoundNet: Learning Sound Representations from Unlabeled Video", NeurIPS 2016:
frozen *visual* networks label the frames of unlabelled videos with distributions over objects and over
scenes; a 1-D convolutional *student* on the raw waveform learns to predict both (KL divergence). Its
middle layers become a sound representation, tested by a linear classifier on a labelled sound task.

The student keeps SoundNet's conv1..conv7 kernel / stride / padding pattern (64/2/32, 32/2/16, 16/2/8,
8/2/4, 4/2/2, 4/2/2, 4/2/2), each convolution followed by batch norm and ReLU, max-pools after conv1,
conv2 and conv5, and two conv8 heads (objects, scenes) that output a distribution per time step. What is
scaled down, for 1-s clips on a CPU: the channels (a `width` fraction of 16..1024), the pools (SoundNet's
8, 8, 4 would shrink a 1-s clip to nothing) and conv8's kernel. `output_length` tells how long each
layer's output is for a clip length, so a learner can size the network for theirs.

Shapes: waveforms (B, samples) in [-1, 1], scaled by 256 inside the student as in the paper; log-
distributions (B, classes, T); teacher distributions (B, classes), one per clip, repeated over T.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .backbone import cell_targets
from .metrics import linear_probe
from .core import DATA, in_batches, inference, load_checkpoint, seed_everything
from .train import History, batches_of, fit
from .world import PLACES, SHAPES
from .world.scenes import Scenes

CHECKPOINT = DATA / "soundnet_student.pt"          # the longer-trained student, made by scripts/distil_soundnet.py

WAVE_SCALE = 256.0                                 # SoundNet feeds waveforms in [-256, 256]
KERNELS = (64, 32, 16, 8, 4, 4, 4)                 # conv1..conv7, as in SoundNet
STRIDES = (2, 2, 2, 2, 2, 2, 2)
PADDING = (32, 16, 8, 4, 2, 2, 2)
CHANNELS = (16, 32, 64, 128, 256, 512, 1024)       # SoundNet's; the student takes a fraction of them
POOLS = {1: 4, 2: 4, 5: 2}                         # max-pool after conv1, conv2, conv5 (SoundNet: 8, 8, 4)


def conv_length(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a 1-D convolution (or max-pool) over n samples: floor((n + 2p - k) / s) + 1."""
    return (n + 2 * padding - kernel) // stride + 1


def output_length(n_samples: int, pools: dict[int, int] = POOLS, head_kernel: int = 4) -> dict[str, int]:
    """The time length of every layer's output for a clip of n_samples: {'conv1': ..., 'conv8': ...}."""
    lengths, n = {}, n_samples
    for i, (k, s, p) in enumerate(zip(KERNELS, STRIDES, PADDING), start=1):
        n = conv_length(n, k, s, p)
        if i in pools:
            n = conv_length(n, pools[i], pools[i])
        lengths[f"conv{i}"] = n
    lengths["conv8"] = conv_length(n, head_kernel)
    return lengths


class SoundNetStudent(nn.Module):
    """SoundNet's 8 layers, scaled: (B, samples) -> log-distributions over objects (B, n_objects, T) and over
    scenes (B, n_scenes, T). `features(wave)` returns every layer's activations {'conv1': (B, C1, T1), ...}."""

    def __init__(self, n_objects: int, n_scenes: int, width: float = 0.25, pools: dict[int, int] = POOLS,
                 head_kernel: int = 4):
        super().__init__()
        channels = [max(1, int(c * width)) for c in CHANNELS]
        self.blocks = nn.ModuleList()
        c_in = 1
        for i, (c, k, s, p) in enumerate(zip(channels, KERNELS, STRIDES, PADDING), start=1):
            layers = [nn.Conv1d(c_in, c, k, s, p), nn.BatchNorm1d(c), nn.ReLU()]
            if i in pools:
                layers.append(nn.MaxPool1d(pools[i], pools[i]))
            self.blocks.append(nn.Sequential(*layers))
            c_in = c
        self.objects = nn.Conv1d(c_in, n_objects, head_kernel)    # conv8, two heads
        self.scenes = nn.Conv1d(c_in, n_scenes, head_kernel)

    def features(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        x, out = wave[:, None] * WAVE_SCALE, {}
        for i, block in enumerate(self.blocks, start=1):
            x = block(x)
            out[f"conv{i}"] = x
        out["conv8"] = torch.cat([self.objects(x), self.scenes(x)], dim=1)
        return out

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = wave[:, None] * WAVE_SCALE
        for block in self.blocks:
            x = block(x)
        return F.log_softmax(self.objects(x), dim=1), F.log_softmax(self.scenes(x), dim=1)


def kl_to_teacher(log_student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """One head's KL(teacher || student), summed over classes and time steps, averaged over clips.
    log_student (B, C, T) log-probabilities; teacher (B, C) probabilities, the same at every step."""
    teacher = teacher[:, :, None].expand_as(log_student)
    return (teacher * (torch.log(teacher.clamp_min(1e-12)) - log_student)).sum(dim=(1, 2)).mean()


def distillation_loss(log_objects: torch.Tensor, log_scenes: torch.Tensor, teacher_objects: torch.Tensor,
                      teacher_scenes: torch.Tensor) -> torch.Tensor:
    """SoundNet's loss: the sum over the two heads and the T time steps of KL(teacher || student), mean over
    clips. log_objects (B, K, T), log_scenes (B, S, T): the student's log-probabilities; teacher_objects (B, K),
    teacher_scenes (B, S): the teachers' per-clip distributions."""
    return kl_to_teacher(log_objects, teacher_objects) + kl_to_teacher(log_scenes, teacher_scenes)


# ----------------------------------------------------------------------------------------- teachers
class VisualTeachers(nn.Module):
    """Two small heads on the frozen world backbone, trained on labelled *images* only (as SoundNet's ImageNet
    and Places networks were): grid (B, C, H, W) -> (object distribution (B, n_objects), scene distribution
    (B, n_scenes)). The object head reads every cell and averages the cells' shape probabilities, weighted by
    how object-like each cell is; the scene head reads the pooled grid."""

    def __init__(self, channels: int, n_objects: int, n_scenes: int):
        super().__init__()
        self.cell = nn.Conv2d(channels, n_objects + 1, 1)   # per cell: the shapes, and 'no object'
        self.scene = nn.Linear(channels, n_scenes)

    def logits(self, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cell(grid), self.scene(grid.mean(dim=(2, 3)))

    def forward(self, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cells, scenes = self.logits(grid)
        p = cells.softmax(dim=1)                           # (B, K + 1, H, W)
        objects = p[:, :-1].sum(dim=(2, 3))                # shape mass over the object cells
        objects = objects / objects.sum(1, keepdim=True).clamp_min(1e-12)
        return objects, scenes.softmax(dim=1)


def train_teachers(grid: torch.Tensor, scenes: Scenes, steps: int = 300, seed: int = 0) -> tuple[VisualTeachers, History]:
    """Fit the two teacher heads on labelled images: per cell, which shape covers it (or none: the backbone's
    pretraining targets); per image, its place. Returns the teachers, frozen (eval mode), and their History."""
    targets = cell_targets(scenes, grid=grid.shape[-1])
    cells = torch.from_numpy(np.where(targets["presence"] > 0, targets["shape"], len(SHAPES))).long()
    place = torch.from_numpy(scenes.place).long()
    seed_everything(seed)
    teachers = VisualTeachers(grid.shape[1], len(SHAPES), len(PLACES))

    def loss(model, batch):
        cell_logits, scene_logits = model.logits(batch[0])
        return F.cross_entropy(cell_logits, batch[1]) + F.cross_entropy(scene_logits, batch[2])

    history = fit(teachers, loss, batches_of(grid, cells, place, batch_size=256), steps=steps, lr=3e-3, seed=seed,
                  desc="visual teachers", progress=False)
    return teachers.eval().requires_grad_(False), history


def loud_and_quiet(scenes: Scenes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The probe's kind of scene: exactly two objects, one large (loud) and one small (9 dB quieter), of
    different shapes. Returns (N,) bool (is the scene of that kind) and, for every scene, the slot of its loudest
    object and of its quietest present one, (N,) ints each (meaningful where the first array is True)."""
    loud = np.argmax(np.where(scenes.present, scenes.size, -1), axis=1)
    quiet = np.argmin(np.where(scenes.present, scenes.size, 99), axis=1)
    rows = np.arange(len(scenes))
    kind = ((scenes.present.sum(1) == 2) & ((scenes.size == 1) & scenes.present).sum(1) == 1) \
        & (scenes.shape[rows, loud] != scenes.shape[rows, quiet])
    return kind, loud, quiet


def layer_features(student: SoundNetStudent, waves: torch.Tensor, batch_size: int = 250) -> dict[str, torch.Tensor]:
    """Each layer's activations averaged over time, one vector per clip: {'conv1': (N, C1), ...} (SoundNet's
    evaluation averages its classifier's scores over the windows of a clip)."""
    def averaged(chunk: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: a.mean(-1) for name, a in student.features(chunk).items()}

    with inference(student):
        return in_batches(averaged, waves, batch_size=batch_size)


def probe_by_folds(features: torch.Tensor, targets, folds) -> tuple[float, list[float]]:
    """ESC-50's protocol: for each fold, a linear classifier (logistic regression) trained on the other folds is
    tested on it; returns the mean accuracy and the per-fold ones. A clip is tested only in its own fold; the
    classifiers start from seeded weights, so the same features always give the same numbers."""
    targets, folds = torch.as_tensor(np.asarray(targets)).long(), np.asarray(folds)
    accuracies = []
    for fold in np.unique(folds):
        test = torch.from_numpy(folds == fold)
        torch.manual_seed(int(fold))                     # the classifier's initial weights: the same every call
        accuracies.append(linear_probe(features[~test], targets[~test], features[test], targets[test]))
    return float(np.mean(accuracies)), accuracies


# ----------------------------------------------------------------------------------------- shipped student
def load_student(path: str | Path = CHECKPOINT) -> SoundNetStudent:
    """The shipped student (objects = the world's shapes, scenes = its places), checked against its sha256."""
    return load_checkpoint(SoundNetStudent(len(SHAPES), len(PLACES)), path, "SoundNet student",
                           "Restore it (`git checkout -- data/`) or rebuild it with `python scripts/distil_soundnet.py`.")
