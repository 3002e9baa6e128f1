"""One small training loop for the whole course.

Training is *step-budgeted*: you say how many optimiser steps to take, not how many epochs, so a
notebook's run time is known in advance and the same seed gives the same model.

    history = fit(model, loss_fn, loader, steps=2_000, lr=3e-3, eval_fn=evaluate, eval_every=500)
    plot_history(history)

`loss_fn(model, batch)` returns the scalar loss, or a dict with a "loss" entry plus any other
scalars worth logging (accuracy, the loss's parts, ...). Training that is not one loss and one
optimiser (a GAN's discriminator-then-generator update) brings its own `step(model, batch) -> logs`.

Three layers, read from the inside out: `loop` (the loop itself), `fit` (an optimiser step around a
loss, the loop, and lecture mode around both), `Progress` (the bar and the closing line).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import torch
from . import lecture
from .core import inference, progress_bar, release_memory, seed_everything, to_device

Step = Callable[[torch.nn.Module, Any], dict[str, float]]  # step(model, batch) -> logs, with a "loss" entry


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

    def log(self, step: int, logs: dict[str, float]) -> None:
        """Keep one step's logs: "loss" in `loss`, the rest in `logs`."""
        self.steps.append(step)
        self.loss.append(logs["loss"])
        for name, value in logs.items():
            if name != "loss":
                self.logs.setdefault(name, []).append(value)


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


# ----------------------------------------------------------------------------------------- the loop
def loop(model: torch.nn.Module, step: Step, batches: Iterable, steps: int, *, device: torch.device | str = "cpu",
         eval_fn: Callable[[torch.nn.Module], dict] | None = None, eval_every: int | None = None,
         desc: str = "training", progress: bool = True) -> History:
    """`steps` times: take a batch, `logs = step(model, batch)`, keep the logs; every `eval_every` steps and
    after the last, `eval_fn(model)` in eval mode. Nothing else: `fit` chooses the step, `Progress` shows it."""
    history = History()
    start = time.perf_counter()
    model.train()
    with Progress(steps, desc, show=progress) as shown:
        for i, batch in zip(range(1, steps + 1), batches):
            try:
                logs = step(model, to_device(batch, device))
            except FloatingPointError as error:
                raise FloatingPointError(f"at step {i}: {error}") from None
            history.log(i, logs)
            if eval_fn is not None and (i % (eval_every or steps) == 0 or i == steps):
                history.eval_steps.append(i)
                history.evals.append(evaluate(model, eval_fn))
            shown.update(logs, history.evals[-1] if history.eval_steps[-1:] == [i] else None)
        history.seconds = time.perf_counter() - start
    release_memory()                                  # the steps' freed tensors, back to the OS
    return history


@dataclass
class GradientStep:
    """The usual step: loss_fn(model, batch), backward, clip the gradient's norm, optimiser and scheduler step.
    A loss that is not finite stops training before it reaches the weights."""

    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor | dict]
    optimizer: torch.optim.Optimizer
    scheduler: Any = None
    clip_grad: float | None = None

    def __call__(self, model: torch.nn.Module, batch: Any) -> dict[str, float]:
        out = self.loss_fn(model, batch)
        loss, logs = (out["loss"], out) if isinstance(out, dict) else (out, {"loss": out})
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss.item()}; try a smaller learning rate.")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip_grad is not None:
            params = [p for group in self.optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, self.clip_grad)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return {name: value.item() if torch.is_tensor(value) else float(value) for name, value in logs.items()}


def fit(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor | dict] | None,
    batches: Iterable,
    steps: int,
    *,
    step: Step | None = None,
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
    step:       instead of loss_fn (pass None): a step(model, batch) -> logs that updates the model itself.
    optimizer:  defaults to Adam(lr) over the parameters that require grad (with loss_fn).
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
    if (loss_fn is None) == (step is None):
        raise TypeError("fit() takes a loss_fn, or loss_fn=None and a step(model, batch) that updates the model.")
    if seed is not None:
        seed_everything(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    device = torch.device(device if device is not None else params[0].device if params else "cpu")
    if step is None:
        optimizer = optimizer or torch.optim.Adam(params, lr=lr)
        step = GradientStep(loss_fn, optimizer, scheduler, clip_grad)
    stream = endless(batches)
    if not steps:
        return History()
    first = next(stream)
    train = lambda: loop(model, step, itertools.chain([first], stream), steps, device=device,  # noqa: E731
                         eval_fn=eval_fn, eval_every=eval_every, desc=desc, progress=progress)
    recipe = (model, step, eval_fn, first, steps, eval_every, seed, device.type)
    return remembered_training(desc, recipe, train, model, optimizer, scheduler)


def remembered_training(desc: str, recipe, train: Callable[[], History], model: torch.nn.Module,
                        optimizer: torch.optim.Optimizer | None = None, scheduler: Any = None) -> History:
    """train(), or, in lecture mode, the weights, optimiser state and History that the same recipe ended with."""
    def compute() -> dict:
        history = train()
        return {"model": model.state_dict(), "optimizer": None if optimizer is None else optimizer.state_dict(),
                "scheduler": None if scheduler is None else scheduler.state_dict(), "history": asdict(history)}

    def restore(saved: dict) -> None:
        before = {k: v.clone() for k, v in model.state_dict().items()}
        try:
            History(**saved["history"])
            model.load_state_dict(saved["model"])
            if optimizer is not None:
                optimizer.load_state_dict(saved["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(saved["scheduler"])
        except BaseException:
            model.load_state_dict(before)
            raise

    def detail(saved: dict) -> str:
        history = History(**saved["history"])
        return f"{history.steps[-1]:,} steps in {history.seconds:.1f} s, final loss {Progress.smoothed(history.loss):.4f}"

    return History(**lecture.remembered(desc, recipe, compute, detail, restore, kind="fit")["history"])


def evaluate(model: torch.nn.Module, eval_fn: Callable[[torch.nn.Module], dict]) -> dict[str, float]:
    """Run `eval_fn(model)` in eval mode without gradients, restoring the model's previous mode."""
    with inference(model):
        return {k: float(v) for k, v in eval_fn(model).items()}


# ----------------------------------------------------------------------------------------- showing progress
class Progress:
    """The bar while training (smoothed loss, the last evaluation) and one plain-text line at the end: it
    survives a saved notebook, where the bar's widget does not. `show=False` prints nothing."""

    DECAY = 0.95  # the bar's and the closing line's smoothing of the per-step logs

    def __init__(self, steps: int, desc: str, show: bool = True):
        self.steps, self.desc, self.show, self.start = steps, desc, show, time.perf_counter()
        self.bar = progress_bar(steps, desc, disable=not show)
        self.every, self.done, self.running = max(1, steps // 200), 0, {}

    @classmethod
    def smoothed(cls, values: list[float]) -> float:
        """The exponential moving average of values, as the bar shows it (seeded with the first value)."""
        running = values[0]
        for v in values[1:]:
            running = cls.DECAY * running + (1 - cls.DECAY) * v
        return running

    def update(self, logs: dict[str, float], evals: dict[str, float] | None = None) -> None:
        for name, value in logs.items():
            old = self.running.get(name, value)
            self.running[name] = self.DECAY * old + (1 - self.DECAY) * value
        self.done += 1
        self.bar.update(1)
        if evals is not None:
            self.bar.set_postfix(loss=f"{self.running['loss']:.4f}", **{k: f"{v:.3f}" for k, v in evals.items()})
        elif self.done % self.every == 0:
            self.bar.set_postfix(loss=f"{self.running['loss']:.4f}", refresh=False)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, kind, *exc) -> bool:
        self.bar.close()
        if kind is None and self.show and self.done:
            seconds = time.perf_counter() - self.start
            others = "".join(f", {k} {v:.4f}" for k, v in self.running.items() if k != "loss")
            print(f"{self.desc}: {self.done:,} steps in {seconds:.1f} s, final loss "
                  f"{self.running['loss']:.4f}{others} (smoothed)")
        return False


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
