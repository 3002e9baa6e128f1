"""The shared base of the package (above `world/`, below everything else).

Reproducibility, device choice and the budget profile — the first cell of every notebook:

    from mmlearn import seed_everything, pick_device, by_profile
    seed_everything(0)
    device = pick_device()                      # cuda -> mps -> cpu, or $MMLEARN_DEVICE
    steps = by_profile(ci=200, default=2_000, full=20_000)

and the few things every module needs: where the project's files are (`ROOT`, `DATA`), writing files
so that an interruption loses nothing (`atomic_write`, `write_json`), reading JSON with a clear error
(`read_json`, `DatasetFormatError`), and images as tensors (`images_to_tensor`).
"""
from __future__ import annotations

import json
import os
import random
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

PROFILES = ("ci", "default", "full")
ROOT = Path(__file__).resolve().parent.parent  # the project (a source checkout: pyproject.toml, data/, notebooks/)
DATA = ROOT / "data"                            # shipped assets: backbone weights, speech, text corpus


class DatasetFormatError(ValueError):
    """A dataset file is not in the format its reader expects; the message names the file and the problem."""


def seed_everything(seed: int) -> int:
    """Seed Python's, NumPy's and torch's (CPU and all GPUs) random generators; return the seed."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def pick_device(prefer: str | None = None) -> torch.device:
    """The fastest available device: cuda, then mps, then cpu.

    `prefer` (or the environment variable MMLEARN_DEVICE) forces one, e.g. "cpu" to compare speeds.
    Asking for a device that is not there raises a RuntimeError that says what is.
    """
    name = prefer or os.environ.get("MMLEARN_DEVICE")
    if name:
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"MMLEARN_DEVICE={name!r} but CUDA is not available here; use 'cpu'.")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"MMLEARN_DEVICE={name!r} but MPS is not available here; use 'cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def profile() -> str:
    """The budget profile, from $MMLEARN_PROFILE: 'ci' (smallest), 'default', or 'full' (longest)."""
    name = os.environ.get("MMLEARN_PROFILE", "default").strip().lower() or "default"
    if name not in PROFILES:
        raise ValueError(f"MMLEARN_PROFILE={name!r} is not a profile; choose one of {', '.join(PROFILES)}.")
    return name


def by_profile(ci, default, full=None):
    """Pick the value for the current profile; `full` falls back to `default` when not given.

    >>> steps = by_profile(ci=100, default=1_000, full=10_000)
    """
    return {"ci": ci, "default": default, "full": default if full is None else full}[profile()]


@contextmanager
def atomic_write(path):
    """Write a file so that an interruption never leaves half of it: yields a temporary path beside
    `path`; when the block ends without error the temporary file replaces `path`, otherwise it is removed.

        with atomic_write("results/00.json") as tmp:
            tmp.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | Path, obj) -> Path:
    """Write JSON atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
    return path


def read_json(path: str | Path):
    """Parsed JSON; a missing or malformed file raises `DatasetFormatError` naming it."""
    path = Path(path)
    if not path.exists():
        raise DatasetFormatError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise DatasetFormatError(f"{path}: not valid JSON ({error})") from None


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)
