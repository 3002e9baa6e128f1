"""The shared base of the package (above `world/`, below everything else).

Reproducibility, device choice and the budget profile — the first cell of every notebook:

    from mmlearn import seed_everything, pick_device, by_profile
    seed_everything(0)
    device = pick_device()                      # cuda -> mps -> cpu, or $MMLEARN_DEVICE
    steps = by_profile(ci=200, default=2_000, full=20_000)

and the few things every module needs: where the project's files are (`ROOT`, `DATA`), writing files
so that an interruption loses nothing (`atomic_write` for one file, `atomic_set` for several that belong
together, `write_json`), reading dataset files with clear errors (`read_json`, `path_inside`,
`DatasetFormatError`), checkpoints with their checksum (`save_checkpoint` and `load_checkpoint`, the one pair;
`save_weights`, `verify_weights` and `load_weights` below them),
images as tensors (`images_to_tensor`), and running a trained model to measure it (`inference`, `in_batches`,
`to_device`).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path, PureWindowsPath

import numpy as np
import torch

PROFILES = ("ci", "default", "full")
ROOT = Path(__file__).resolve().parent.parent  # the project (a source checkout: pyproject.toml, data/, notebooks/)
DATA = ROOT / "data"                            # shipped assets: backbone weights, speech, text corpus


class DatasetFormatError(ValueError):
    """A dataset file is not in the format its reader expects; the message names the file and the problem."""


class ChecksumMismatch(ValueError):
    """A file exists but is not the one its recorded sha256 names (corrupt, changed, or the record is broken)."""


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


def release_memory(collect: bool = True) -> None:
    """Give freed memory back to the operating system. PyTorch's CPU tensors come from the C allocator, which
    (glibc on Linux) keeps freed blocks in the process, so a notebook's memory only grows after a training run;
    `malloc_trim` returns them. `collect` first runs Python's garbage collector (for tensors held in reference
    cycles; slower). Does nothing where there is no glibc."""
    import ctypes
    import gc

    if collect:
        gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def progress_bar(total: int, desc: str, disable: bool = False, **options):
    """A tqdm progress bar drawn as text on stdout, in a terminal and in a notebook alike. A saved notebook keeps
    its last state, where tqdm's notebook widget reads "Error displaying widget: model not found" once the
    kernel that drew it is gone (after a restart, or in a notebook opened later)."""
    from tqdm.std import tqdm

    return tqdm(total=total, desc=desc, disable=disable, file=sys.stdout, ncols=100, **options)


def grid_to_cells(grid: torch.Tensor) -> torch.Tensor:
    """A feature grid (B, C, h, w) as one vector per cell, (B, h*w, C), row-major: the form attention reads."""
    return grid.flatten(2).transpose(1, 2)


def to_device(batch, device: torch.device | str):
    """Move every tensor in a (nested) tuple / list / dict to `device`; leave the rest alone."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [to_device(v, device) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch


@contextmanager
def inference(*models: torch.nn.Module):
    """`with inference(model):` the models in eval mode, gradients off; each one's mode is restored after,
    whatever happens inside. The one way the course runs a model to measure it."""
    modes = [m.training for m in models]
    try:
        with torch.no_grad():
            for m in models:
                m.eval()
            yield
    finally:
        for m, mode in zip(models, modes):
            m.train(mode)


def in_batches(fn, *inputs, batch_size: int, device: torch.device | str | None = None):
    """fn(*chunks) over consecutive chunks of `batch_size` rows of inputs (tensors, arrays or lists; None passes
    through as None), each tensor moved to `device`; the outputs, concatenated on the CPU. fn may return a
    tensor, a tuple of tensors (or of Nones) or a dict of them: what comes back has the same form."""
    n = len(next(x for x in inputs if x is not None))
    parts = []
    for i in range(0, n, batch_size):
        chunk = [None if x is None else x[i : i + batch_size] for x in inputs]
        out = fn(*(chunk if device is None else to_device(chunk, device)))
        parts.append(to_device(out, "cpu"))
    return _concatenated(parts)


def _concatenated(parts: list):
    first = parts[0] if parts else None
    if isinstance(first, tuple):
        return tuple(_concatenated([p[k] for p in parts]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: _concatenated([p[k] for p in parts]) for k in first}
    return None if first is None else torch.cat(parts)


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


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files `atomic_write` left beside `path` (.NAME.PID.tmp) when a process was killed
    mid-write: those whose process is gone (a live writer's file is left alone). Returns what was removed."""
    import psutil

    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:-len(".tmp")]
        if pid.isdigit() and int(pid) != os.getpid() and not psutil.pid_exists(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextmanager
def atomic_write(path):
    """Write a file so that an interruption never leaves half of it: yields a temporary path beside
    `path`; when the block ends without error the temporary file replaces `path`, otherwise it is removed.

        with atomic_write("results/00.json") as tmp:
            tmp.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | Path, obj, indent: int | None = None) -> Path:
    """Write strict JSON atomically (temporary file in the same folder, then rename): NaN or infinity raises
    ValueError, as no JSON reader has to accept them, and an interruption leaves the old file as it was."""
    path = Path(path)
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, allow_nan=False)
        f.write("\n")
    return path


def read_text(path: str | Path, what: str) -> str:
    """A text file's contents (UTF-8, with or without a byte-order mark); a missing, unreadable or non-UTF-8 file
    raises DatasetFormatError naming it and, for bad bytes, where they are. `what` names the file's role."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetFormatError(f"{path}: no such file ({what})") from None
    except IsADirectoryError:
        raise DatasetFormatError(f"{path}: is a folder, not {what}") from None
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); {what} is UTF-8 "
                                 "as published: was it re-saved in another encoding?") from None
    except OSError as error:
        raise DatasetFormatError(f"{path}: cannot be read ({error.strerror or error})") from None


def read_json(path: str | Path):
    """Parsed JSON (UTF-8, with or without a byte-order mark); a missing, unreadable or malformed file raises
    `DatasetFormatError` naming it (`read_text`, then the parse)."""
    text = read_text(path, "a JSON file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetFormatError(f"{Path(path)}: not valid JSON ({error})") from None


# ----------------------------------------------------------------------------------------- file sets
JOURNAL = ".mmlearn-commit.json"   # names the entries a file set is swapping in, while it does so
STAGING = ".mmlearn-staging-"      # + pid: where a file set is written before the swap


@contextmanager
def atomic_set(root, entries):
    """Write several files or folders under `root` all-or-nothing (a dataset's annotations and images,
    a checkpoint and its checksum): nobody ever sees new images with old captions.

        with atomic_set(root, ["val2014", "annotations/captions_val2014.json"]) as staging:
            ... write staging / "val2014" / ... and staging / "annotations" / ...

    Each entry (a path relative to root) is written into the staging folder; when the block ends without
    error, a journal naming them is written, then each root/<entry> is replaced by its new version (the
    whole folder, for a folder). A run killed before the journal leaves the old set as it was; a run
    killed during the swap is finished by `finish_interrupted_write(root)`, which every writer and reader
    of a set calls first. Either way the next run removes what the killed one left.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    finish_interrupted_write(root)
    staging = root / f"{STAGING}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        missing = [str(e) for e in entries if not (staging / e).exists()]
        if missing:
            raise RuntimeError(f"atomic_set: the block did not write {missing} into {staging}")
        write_json(root / JOURNAL, {"staging": staging.name, "entries": [str(e) for e in entries]})
        finish_interrupted_write(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def finish_interrupted_write(root) -> None:
    """Complete a file set's swap that a killed run left half done (its journal is still there), and remove
    staging folders of runs that are no longer alive. Does nothing (and writes nothing) otherwise."""
    root = Path(root)
    journal = root / JOURNAL
    if journal.is_file():
        plan = read_json(journal)
        staging = root / plan["staging"]
        for entry in plan["entries"]:
            new, dest, old = staging / entry, root / entry, staging / ".replaced" / entry
            if new.exists():  # not swapped in yet; dest is the old version (or missing)
                if dest.exists():
                    old.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(dest, old)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(new, dest)
        journal.unlink()
        shutil.rmtree(staging, ignore_errors=True)
        if plan["staging"] != f"{STAGING}{os.getpid()}":
            print(f"{root}: finished an interrupted write of {', '.join(plan['entries'])}")
    if root.is_dir():
        for leftover in root.glob(f"{STAGING}*"):
            if not _alive(leftover.name[len(STAGING):]):
                shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: str) -> bool:
    """Whether a process with this id runs (a staging folder of a live writer is left alone)."""
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid() or os.name == "nt":  # Windows' os.kill(pid, 0) would terminate it: leave it
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but is not ours, or the platform cannot tell: leave it
        return True
    return True


def path_inside(path, folder: Path, name, where) -> Path:
    """folder / name for a file name read from a dataset file `path` (at `where` in it), refusing a name that
    would leave the folder: empty, absolute (/x, C:\\x) or with a '..' part. Raises DatasetFormatError."""
    if not isinstance(name, str):
        raise DatasetFormatError(f"{path}: {where} should be a string, got {name!r}")
    windows = PureWindowsPath(name)  # parses both / and \\ separators
    if not name or windows.drive or windows.is_absolute() or name.startswith(("/", "\\")) or ".." in windows.parts:
        raise DatasetFormatError(f"{path}: {where} {name!r} points outside {folder} (empty, absolute or '..' paths "
                                 "are refused)")
    return folder / name


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)


def cache_dir() -> Path:
    """Where computed features and lecture weights are kept: $MMLEARN_CACHE, else <project>/.cache (git-ignored), else ~/.cache/mmlearn."""
    if os.environ.get("MMLEARN_CACHE"):
        return Path(os.environ["MMLEARN_CACHE"])
    return ROOT / ".cache" if (ROOT / "pyproject.toml").exists() else Path.home() / ".cache" / "mmlearn"


# ----------------------------------------------------------------------------------------- shipped weights
def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_weights(state: dict, path: str | Path) -> str:
    """Save a state dict and its sha256 beside it (<path>.sha256); return the digest. All-or-nothing: the
    weights and their checksum are replaced together, so an interrupted save leaves the previous pair."""
    path = Path(path)
    with atomic_set(path.parent, [path.name, f"{path.name}.sha256"]) as staging:
        torch.save({k: v.detach().clone() for k, v in state.items()}, staging / path.name)
        digest = sha256(staging / path.name)
        (staging / f"{path.name}.sha256").write_text(f"{digest}  {path.name}\n")
    return digest


def verify_weights(path: str | Path, what: str, rebuild: str) -> None:
    """Check shipped weights against their recorded sha256, after finishing an interrupted save. A missing
    file or checksum raises FileNotFoundError; a folder in its place, a broken checksum record or a file that
    does not match it raises ChecksumMismatch; each names the file and says how to `rebuild` it. Nothing is
    overwritten here."""
    path, record = Path(path), Path(f"{path}.sha256")
    finish_interrupted_write(path.parent)
    if path.is_dir():
        raise ChecksumMismatch(f"{what}: {path} is a folder, not a checkpoint file. {rebuild}")
    if not path.exists():
        raise FileNotFoundError(f"{what}: {path} is missing. {rebuild}")
    if not record.is_file():
        raise FileNotFoundError(f"{what}: {record} (its recorded checksum) is missing. {rebuild}")
    recorded = (record.read_text(encoding="ascii", errors="replace").split() or [""])[0]
    if not re.fullmatch(r"[0-9a-f]{64}", recorded):
        raise ChecksumMismatch(f"{what}: {record} holds no sha256 (expected '<64 hex digits>  {path.name}', got "
                               f"{recorded[:70]!r}). {rebuild}")
    if sha256(path) != recorded:
        raise ChecksumMismatch(f"{what}: {path} does not match its recorded sha256 (corrupt or changed); "
                               f"it was left as it is. {rebuild}")


def load_weights(path: str | Path, what: str) -> dict:
    """torch.load(path, weights_only=True), with any failure turned into a DatasetFormatError naming the file
    (never a hint to load it unsafely)."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - pickle, zip and EOF errors all mean "not a valid file"
        first = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise DatasetFormatError(f"{path}: not a valid {what} ({first})") from None
    if not isinstance(data, dict):
        raise DatasetFormatError(f"{path}: not a valid {what} (holds a {type(data).__name__}, not a dict of tensors)")
    return data


def save_checkpoint(module: torch.nn.Module, path: str | Path, *, half: bool = False) -> str:
    """The one way a trained module is saved: its state dict (floating-point tensors in float16 when `half`,
    half the size on disk) and its sha256 beside it, all-or-nothing (`save_weights`); returns the digest."""
    state = module.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    return save_weights(state, path)


def load_checkpoint(module: torch.nn.Module, path: str | Path, what: str, rebuild: str) -> torch.nn.Module:
    """The one way a saved module is loaded: `path` is checked against its recorded sha256 (a missing, changed
    or unchecksummed file raises FileNotFoundError or ChecksumMismatch saying how to `rebuild` it, and is never
    overwritten), read
    safely (weights only), and copied into `module`, whose own dtype the weights take (float16 ones included).
    Returns the module in eval mode."""
    verify_weights(path, what, rebuild)
    state = load_weights(path, f"{what} checkpoint")
    try:
        module.load_state_dict(state)
    except RuntimeError as error:   # other keys or shapes: another architecture's weights
        first = str(error).strip().splitlines()
        raise DatasetFormatError(f"{path}: not a {what} checkpoint for this architecture "
                                 f"({' '.join(first[1:3]).strip()[:200] or first[0][:200]})") from None
    return module.eval()
