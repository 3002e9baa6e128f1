"""What every checker shares: the failure type, the messages, calling the learner's function safely."""
from __future__ import annotations

import torch

class ExerciseFailed(AssertionError):
    """The learner's answer is not right yet; the message says what looks wrong."""


def fail(exercise: str, hint: str):
    raise ExerciseFailed(f"Exercise {exercise}: {hint}")


def passed(exercise: str, what: str) -> None:
    print(f"✓ Exercise {exercise} passed: {what}")


def as_float64(out):
    """Floating tensors (alone or in a tuple/list) as float64, so that a correct answer computed in float32
    compares with the float64 reference instead of crashing torch.allclose; anything else unchanged."""
    if torch.is_tensor(out):
        return out.double() if out.is_floating_point() else out
    if isinstance(out, (tuple, list)):
        return type(out)(as_float64(o) for o in out)
    return out


def call(exercise: str, fn, *args):
    """Call the learner's function; turn a crash into a hint, but let NotImplementedError through.
    Floating outputs come back as float64 (see `as_float64`)."""
    try:
        return as_float64(fn(*args))
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any crash is the learner's to see
        fail(exercise, f"your function raised {type(error).__name__}: {error}")


def close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-4) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=tol, atol=tol)
