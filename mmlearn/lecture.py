"""Lecture mode: what a notebook trained is remembered on disk, so running it again trains nothing.

A lecturer runs a notebook the evening before; in class the same cells load what was trained, and say so:

    shape-by-ear: loaded weights trained on 2026-11-24 03:18 (600 steps in 0.4 s, final loss 0.0005);
    set MMLEARN_RETRAIN=1 to train again

`train.fit` (and so `gan.train_gan`, which trains through it), `word2vec.train_skipgram` and
`word2vec.train_gensim` look their result up under a key: a digest of everything that decides it.

    model   the weights training starts from (so its architecture and the seed that drew them), and the
            code of any class defined in the notebook
    data    the first batch: another dataset, size, order or seed gives another first batch
    recipe  the run's name, steps, seed, learning rate, the optimiser and its state, scheduler, clipping,
            evaluation schedule, device type; the loss and evaluation functions: their code and the values
            of the names they use (change LAMBDA in a cell and the key changes)
    code    the source of the mmlearn package and the torch version

A key is a digest, not a proof: code that reaches its settings some way the digest does not follow (a
file it reads, say) can fool it. MMLEARN_RETRAIN=1 always trains, and replaces what was remembered.
Along with the weights come the optimiser's state and the random generators' states at the end of
training, so the cells after a loaded run draw the same numbers as after the original one.

Where: $MMLEARN_LECTURE_CACHE, else the `lecture/` folder of `core.cache_dir()`. `make test` and
`make course` use a private, empty folder and MMLEARN_RETRAIN=1: they always train, so the tests keep
testing learning (and every run exercises the writer).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import random
import re
import sys
import sysconfig
import time
import types
import weakref
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .core import DatasetFormatError, atomic_write, cache_dir, load_weights

RETRAIN_HINT = "set MMLEARN_RETRAIN=1 to train again"
_PACKAGE = Path(__file__).resolve().parent
_MAX_DEPTH = 6


def directory() -> Path:
    """Where lecture weights are kept: $MMLEARN_LECTURE_CACHE, else <cache_dir>/lecture."""
    return Path(os.environ.get("MMLEARN_LECTURE_CACHE") or cache_dir() / "lecture")


def retraining() -> bool:
    """True when MMLEARN_RETRAIN is set to anything but '', '0' or 'false': train, never load."""
    return os.environ.get("MMLEARN_RETRAIN", "").strip().lower() not in ("", "0", "false", "no")


# ----------------------------------------------------------------------------------------- the key
@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the mmlearn package's source files and the torch version."""
    h = hashlib.blake2b(torch.__version__.encode(), digest_size=16)
    for file in sorted(_PACKAGE.rglob("*.py")):
        h.update(str(file.relative_to(_PACKAGE)).encode())
        h.update(file.read_bytes())
    return h.hexdigest()


def digest(*objects) -> str:
    """32 hex digits over objects: numbers, strings, containers, tensors and arrays (values), modules (their
    weights and notebook-defined classes), optimisers (their state), functions (their code, defaults,
    closures and the globals they read, when defined in a notebook; their name when in a library)."""
    h = hashlib.blake2b(code_version().encode(), digest_size=16)
    seen: dict[int, object] = {}  # id -> the object, kept alive: a freed temporary's id is reused
    for obj in objects:
        _feed(h, obj, 0, seen)
    return h.hexdigest()


_tensor_digests: dict[int, tuple] = {}  # id -> (weakref, version, data pointer, digest): a big tensor is read once


def _tensor_digest(t: torch.Tensor) -> bytes:
    t = t.detach()
    memo = _tensor_digests.get(id(t))
    if memo is not None and memo[0]() is t and memo[1:3] == (t._version, t.data_ptr()):
        return memo[3]
    array = t.cpu().contiguous()
    raw = array.view(torch.uint8) if array.dtype == torch.bfloat16 else array
    value = hashlib.blake2b(raw.numpy().tobytes(), digest_size=16).digest()
    try:
        _tensor_digests[id(t)] = (weakref.ref(t), t._version, t.data_ptr(), value)
    except TypeError:  # some tensor subclasses refuse weak references: just do not remember them
        pass
    return value


def _user_code(obj) -> bool:
    """Defined in a notebook, a script or a test (not in mmlearn, the standard library or an installed package)?
    A function is judged by the file its code came from (a notebook cell's is a temporary file, or '<...>'), a
    class by its module ('__main__' for a notebook's)."""
    code = getattr(obj, "__code__", None)
    if code is not None:
        file = code.co_filename
    elif obj.__module__ == "__main__":
        return True
    else:
        file = getattr(sys.modules.get(obj.__module__), "__file__", None)
    if not file or file.startswith("<"):
        return True
    file = str(Path(file).resolve())
    libraries = {str(_PACKAGE)} | {str(Path(p).resolve()) for k, p in sysconfig.get_paths().items()
                                   if k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return not any(file.startswith(lib) for lib in libraries)


def _names(code: types.CodeType) -> set[str]:
    """The global names a code object (and the code nested in it) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _feed_code(h, code: types.CodeType, depth: int, seen: dict) -> None:
    h.update(code.co_code)
    for const in code.co_consts:
        _feed(h, const, depth + 1, seen)
    h.update(repr(code.co_names).encode())


def _feed(h, obj, depth: int, seen: dict) -> None:
    put = lambda text: h.update(text.encode())  # noqa: E731
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.generic, torch.dtype, torch.device)):
        put(f"{type(obj).__name__}:{obj!r};")
    elif torch.is_tensor(obj):
        put(f"tensor{tuple(obj.shape)}{obj.dtype}{obj.device.type};")
        h.update(_tensor_digest(obj))
    elif isinstance(obj, np.ndarray):
        put(f"array{obj.shape}{obj.dtype};")
        h.update(np.ascontiguousarray(obj).tobytes() if obj.dtype != object else repr(obj.tolist()).encode())
    elif isinstance(obj, types.ModuleType):
        put(f"module:{obj.__name__};")
    elif isinstance(obj, types.CodeType):
        _feed_code(h, obj, depth, seen)
    elif id(obj) in seen or depth > _MAX_DEPTH:
        put(f"<{type(obj).__qualname__}>;")
    else:
        seen[id(obj)] = obj
        _feed_container(h, obj, depth + 1, seen)


def _feed_container(h, obj, depth: int, seen: dict) -> None:
    put = lambda text: h.update(text.encode())  # noqa: E731
    put(f"{type(obj).__module__}.{type(obj).__qualname__}(")
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _feed(h, item, depth, seen)
    elif isinstance(obj, dict):
        for key in sorted(obj, key=repr):
            _feed(h, key, depth, seen)
            _feed(h, obj[key], depth, seen)
    elif isinstance(obj, (set, frozenset)):
        put(repr(sorted(map(repr, obj))))
    elif isinstance(obj, nn.Module):
        for module in obj.modules():
            _feed(h, type(module), depth, seen)
        _feed(h, obj.state_dict(), depth, seen)
    elif isinstance(obj, torch.optim.Optimizer):
        _feed(h, obj.state_dict(), depth, seen)
    elif isinstance(obj, type):
        put(f"{obj.__module__}.{obj.__qualname__}")
        if _user_code(obj):
            for name, member in vars(obj).items():
                if not name.startswith("__") or name in ("__init__", "__call__"):
                    _feed(h, name, depth, seen)
                    _feed(h, getattr(member, "__func__", getattr(member, "fget", member)), depth, seen)
    elif isinstance(obj, types.FunctionType):
        put(f"{obj.__module__}.{obj.__qualname__}")
        if _user_code(obj):
            _feed_code(h, obj.__code__, depth, seen)
            _feed(h, (obj.__defaults__, obj.__kwdefaults__), depth, seen)
            _feed(h, [cell.cell_contents for cell in obj.__closure__ or () if _filled(cell)], depth, seen)
            for name in sorted(_names(obj.__code__)):
                if name in obj.__globals__:
                    _feed(h, name, depth, seen)
                    _feed(h, obj.__globals__[name], depth, seen)
    elif isinstance(obj, types.MethodType):
        _feed(h, (obj.__func__, type(obj.__self__)), depth, seen)
    elif isinstance(obj, functools.partial):
        _feed(h, (obj.func, obj.args, obj.keywords), depth, seen)
    elif dataclasses.is_dataclass(obj):
        _feed(h, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, depth, seen)
    elif hasattr(obj, "__dict__") and not callable(obj):
        _feed(h, {k: v for k, v in vars(obj).items() if not k.startswith("__")}, depth, seen)
    elif callable(obj):
        put(getattr(obj, "__qualname__", type(obj).__qualname__))
    put(")")


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # a closure cell not yet assigned
        return False
    return True


# ----------------------------------------------------------------------------------------- random state
def rng_state() -> dict:
    """The states of Python's, NumPy's and torch's global generators (CUDA's too, where there is one)."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(mt), gauss], "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos,
             has_gauss, cached], "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, mt, gauss = state["python"]
    random.setstate((version, tuple(mt), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------------------- store
def _file(key: str) -> Path:
    return directory() / f"{key}.pt"


def recall(key: str) -> dict | None:
    """What was remembered under key, or None: not there, MMLEARN_RETRAIN set, or unreadable (said, then None)."""
    file = _file(key)
    if retraining() or not file.exists():
        return None
    try:
        return load_weights(file, "lecture-mode entry")
    except DatasetFormatError as error:
        print(f"{error}; training again")
        return None


def remember(key: str, payload: dict) -> None:
    """Keep payload (tensors, numbers, strings, lists, dicts) under key, with the time and the random
    generators' states; written atomically, so an interrupted save leaves nothing half-written."""
    payload = {**_plain(payload), "trained_on": time.strftime("%Y-%m-%d %H:%M"), "rng": rng_state()}
    with atomic_write(_file(key)) as tmp:
        torch.save(payload, tmp)


def _plain(value):
    """NumPy scalars as Python numbers, in nested dicts and lists: what a weights-only load accepts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


def loaded(what: str, saved: dict, detail: str) -> None:
    """Restore the random generators as they were after training and say what was loaded."""
    set_rng_state(saved["rng"])
    print(f"{what}: loaded weights trained on {saved['trained_on']} ({detail}); {RETRAIN_HINT}")


def remembered(what: str, inputs, compute, detail=lambda payload: "", restore=None, kind: str | None = None) -> dict:
    """compute() -> payload, or the payload remembered for the same inputs (a digest), restoring the random
    generators as they were after it was computed. `detail(payload)` words the "loaded ..." line.

    restore(payload), when given, puts a remembered payload to use (loads its weights into a model, say); if it
    raises, the entry does not fit this run: that is said, and compute() runs instead. The entry's file is
    named `<kind>-<digest>.pt`, kind defaulting to what."""
    key = f"{re.sub(r'[^A-Za-z0-9_.+-]+', '-', kind or what)}-{digest(what, inputs)}"
    if (saved := recall(key)) is not None:
        try:
            if restore is not None:
                restore(saved)
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            print(f"{_file(key)} does not fit this run ({str(error)[:100]}); training again")
        else:
            loaded(what, saved, detail(saved))
            return saved
    payload = compute()
    remember(key, payload)
    return payload
