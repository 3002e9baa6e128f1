"""One small training loop for the whole course.

Training is *step-budgeted*: you say how many optimiser steps to take, not how many epochs, so a
notebook's run time is known in advance and the same seed gives the same model.

    history = fit(model, loss_fn, loader, steps=2_000, lr=3e-3, eval_fn=evaluate, eval_every=500)
    plot_history(history)

`loss_fn(model, batch)` returns the scalar loss, or a dict with a "loss" entry plus any other
scalars worth logging (accuracy, the loss's parts, ...).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import torch
from . import lecture
from .core import progress_bar, release_memory, seed_everything


@dataclass
class History:
    """What happened during `fit`: the loss (and other logged scalars) at every step, and the evaluations."""

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    logs: dict[str, list[float]] = field(default_factory=dict)  # other scalars from loss_fn, per step
    eval_steps: list[int] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def metric(self, name: str) -> list[float]:
        """The values of one evaluation metric, aligned with `eval_steps`."""
        return [e[name] for e in self.evals]

    @property
    def last_eval(self) -> dict[str, float]:
        return self.evals[-1] if self.evals else {}


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor in a (nested) tuple / list / dict to `device`; leave the rest alone."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [to_device(v, device) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch


def endless(batches: Iterable) -> Iterable:
    """Cycle through `batches` forever, re-iterating it (so a shuffling DataLoader reshuffles each pass)."""
    passes = 0
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError(
                "fit() ran out of batches: give it a re-iterable (a list or DataLoader) or an endless "
                "generator such as batches_of(...)." if passes else "fit() was given no batches."
            )
        passes += 1


def fit(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor | dict],
    batches: Iterable,
    steps: int,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    scheduler: Any = None,
    clip_grad: float | None = None,
    eval_fn: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    eval_every: int | None = None,
    seed: int | None = None,
    device: torch.device | str | None = None,
    desc: str = "training",
    progress: bool = True,
) -> History:
    """Train `model` for exactly `steps` optimiser steps; return a `History`.

    batches:    any iterable of batches (a DataLoader, a list, a generator); cycled when exhausted.
    optimizer:  defaults to Adam(lr) over the parameters that require grad.
    scheduler:  stepped after every optimiser step (e.g. a LambdaLR for a linear decay).
    eval_fn:    called as eval_fn(model) -> {name: value} every `eval_every` steps and after the last,
                with the model in eval mode and gradients off.
    seed:       if given, seed everything first, so the run is deterministic.
    device:     batches are moved to it; defaults to the device of the model's first parameter.

    Lecture mode (`mmlearn.lecture`): a run whose model, first batch and recipe were trained before loads
    the weights, optimiser state and history it ended with, and says so; MMLEARN_RETRAIN=1 trains again.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if seed is not None:
        seed_everything(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    if device is None:
        device = params[0].device if params else torch.device("cpu")
    if optimizer is None:
        optimizer = torch.optim.Adam(params, lr=lr)
    if eval_fn is not None and not eval_every:
        eval_every = steps  # evaluate once, at the end

    model.train()
    stream = endless(batches)
    key = None
    if steps:
        first = next(stream)
        stream = itertools.chain([first], stream)
        key = "fit-" + lecture.digest(desc, model, optimizer, scheduler, loss_fn, eval_fn, first, steps, eval_every,
                                      seed, clip_grad, torch.device(device).type)
        if (history := _recall(key, model, optimizer, scheduler, desc)) is not None:
            return history

    history = History()
    start = time.perf_counter()
    bar = progress_bar(steps, desc, disable=not progress)
    postfix_every = max(1, steps // 200)
    running = None
    for step, batch in zip(range(1, steps + 1), stream):
        out = loss_fn(model, to_device(batch, device))
        loss, extras = (out["loss"], out) if isinstance(out, dict) else (out, {})
        if not torch.isfinite(loss):
            bar.close()
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; try a smaller learning rate.")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_grad)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()

        value = loss.item()
        history.steps.append(step)
        history.loss.append(value)
        for name, v in extras.items():
            if name != "loss":
                history.logs.setdefault(name, []).append(float(v))
        running = value if running is None else 0.95 * running + 0.05 * value
        bar.update(1)
        if step % postfix_every == 0:
            bar.set_postfix(loss=f"{running:.4f}", refresh=False)

        if eval_fn is not None and (step % eval_every == 0 or step == steps):
            history.eval_steps.append(step)
            history.evals.append(evaluate(model, eval_fn))
            bar.set_postfix(loss=f"{running:.4f}", **{k: f"{v:.3f}" for k, v in history.evals[-1].items()})
    bar.close()
    history.seconds = time.perf_counter() - start
    release_memory()                                  # the step's freed tensors, back to the OS
    if progress and steps:  # plain text: it survives a saved notebook, where the bar's widget does not
        print(f"{desc}: {steps:,} steps in {history.seconds:.1f} s, final loss {running:.4f} (smoothed)")
    if key is not None:
        lecture.remember(key, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "scheduler": None if scheduler is None else scheduler.state_dict(),
                               "history": asdict(history), "final_loss": running})
    return history


def _recall(key: str, model, optimizer, scheduler, desc: str) -> History | None:
    """The History of a remembered run, after loading its weights and optimiser state; None if there is none
    (or it does not fit: then the model is left as it was)."""
    saved = lecture.recall(key)
    if saved is None:
        return None
    before = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        history = History(**saved["history"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        model.load_state_dict(before)
        print(f"{lecture.directory() / key}.pt does not fit this run ({str(error)[:100]}); training again")
        return None
    lecture.loaded(desc, saved, f"{history.steps[-1]:,} steps in {history.seconds:.1f} s, "
                                  f"final loss {saved['final_loss']:.4f}")
    return history


def evaluate(model: torch.nn.Module, eval_fn: Callable[[torch.nn.Module], dict]) -> dict[str, float]:
    """Run `eval_fn(model)` in eval mode without gradients, restoring the model's previous mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return {k: float(v) for k, v in eval_fn(model).items()}
    finally:
        model.train(was_training)


def batches_of(*tensors: torch.Tensor, batch_size: int, shuffle: bool = True) -> Iterable:
    """An endless stream of random mini-batches from tensors already in memory (fast, no DataLoader).

    Each pass draws a fresh permutation from torch's global generator, so it is seeded by `fit(seed=...)`.
    """
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ValueError(f"all tensors need the same length, got {[len(t) for t in tensors]}")
    if n == 0:
        raise ValueError("batches_of() was given empty tensors.")
    for _ in itertools.count():
        order = torch.randperm(n) if shuffle else torch.arange(n)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            yield tuple(t[idx] for t in tensors)
