import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F

from mmlearn.train import History, batches_of, fit, to_device
from mmlearn.viz import plot_histories, plot_history, smooth


def toy_data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    return x, (x[:, 0] + x[:, 1] > 0).long()


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(5, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2))


def ce(model, batch):
    x, y = batch
    return F.cross_entropy(model(x), y)


def test_fit_overfits_a_tiny_batch():
    x, y = toy_data(16)
    model = mlp()
    history = fit(model, ce, [(x, y)], steps=300, lr=1e-2, seed=0, progress=False)
    assert history.loss[0] > 0.5
    assert history.loss[-1] < 0.01
    assert (model(x).argmax(1) == y).all()


def test_fit_is_deterministic_for_a_seed():
    x, y = toy_data()

    def run(seed, disturbance):
        torch.manual_seed(0)
        model = mlp()  # the same initial weights every time
        torch.rand(disturbance)  # move the global generator: fit(seed=...) must reset it
        history = fit(model, ce, batches_of(x, y, batch_size=8), steps=50, seed=seed, progress=False)
        return history.loss, model[0].weight.detach()

    (loss_a, w_a), (loss_b, w_b), (loss_c, _) = run(7, 1), run(7, 5), run(8, 1)
    assert loss_a == loss_b and torch.equal(w_a, w_b)
    assert loss_a != loss_c  # the seed drives the batch order


def test_fit_takes_exactly_the_step_budget_and_evaluates_every_k_steps():
    x, y = toy_data(20)
    calls = []

    def eval_fn(model):
        calls.append(model.training)
        return {"accuracy": (model(x).argmax(1) == y).float().mean()}

    history = fit(mlp(), ce, [(x[:10], y[:10]), (x[10:], y[10:])], steps=25, eval_fn=eval_fn,
                  eval_every=10, progress=False)
    assert history.steps == list(range(1, 26))
    assert history.eval_steps == [10, 20, 25]
    assert calls == [False, False, False]  # evaluated in eval mode ...
    assert len(history.metric("accuracy")) == 3 and 0 <= history.last_eval["accuracy"] <= 1


def test_fit_logs_extra_scalars_from_a_dict_loss():
    x, y = toy_data(8)

    def loss_fn(model, batch):
        logits = model(batch[0])
        return {"loss": F.cross_entropy(logits, batch[1]), "accuracy": (logits.argmax(1) == batch[1]).float().mean()}

    history = fit(mlp(), loss_fn, [(x, y)], steps=5, progress=False)
    assert len(history.logs["accuracy"]) == 5


def test_fit_reports_a_diverging_loss():
    x, y = toy_data(8)
    with pytest.raises(FloatingPointError, match="step 1"):
        fit(mlp(), lambda m, b: ce(m, b) * float("nan"), [(x, y)], steps=3, progress=False)


def test_fit_explains_an_exhausted_generator():
    x, y = toy_data(8)
    with pytest.raises(ValueError, match="re-iterable"):
        fit(mlp(), ce, ((x, y) for _ in range(2)), steps=5, progress=False)


def test_batches_of_covers_every_example_once_per_pass():
    x = torch.arange(10)
    stream = batches_of(x, x * 2, batch_size=4)
    first_pass = [next(stream) for _ in range(3)]
    seen = torch.cat([b[0] for b in first_pass])
    assert sorted(seen.tolist()) == list(range(10))
    assert all(torch.equal(b[1], b[0] * 2) for b in first_pass)
    with pytest.raises(ValueError):
        next(batches_of(x, x[:3], batch_size=2))


def test_to_device_moves_nested_tensors_only():
    batch = {"a": torch.zeros(1), "b": [torch.ones(1), "text"], "c": (torch.ones(2),)}
    moved = to_device(batch, "cpu")
    assert moved["b"][1] == "text" and isinstance(moved["c"], tuple)


def test_plots_are_titled_and_labelled():
    history = History(steps=[1, 2, 3], loss=[3.0, 2.0, 1.0], eval_steps=[3], evals=[{"acc": 0.5}])
    ax = plot_history(history, title="My run")
    assert ax.get_title() == "My run" and ax.get_xlabel() and ax.get_ylabel()
    ax = plot_histories({"a": history, "b": history})
    assert len(ax.get_legend().get_texts()) == 2
    plt.close("all")


def test_smooth_is_bias_corrected():
    assert smooth([5.0, 5.0, 5.0]).tolist() == pytest.approx([5.0, 5.0, 5.0])


def test_fit_ends_with_a_text_summary_only_when_it_shows_progress(capsys):
    x, y = toy_data(8)
    fit(mlp(), ce, [(x, y)], steps=5, desc="toy", progress=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("toy: 5 steps in ") and "final loss" in lines[-1]
    fit(mlp(), ce, [(x, y)], steps=5, desc="toy", progress=False)
    assert capsys.readouterr().out == ""


def test_fit_runs_a_caller_owned_step_in_the_same_loop():
    x, y = toy_data(16)
    model, calls = mlp(), []
    opt = torch.optim.SGD(model.parameters(), lr=0.5)

    def two_updates(model, batch):  # a step fit cannot write for you: two optimiser steps on one batch
        for _ in range(2):
            opt.zero_grad()
            loss = ce(model, batch)
            loss.backward()
            opt.step()
        calls.append(model.training)
        return {"loss": loss.item(), "updates": 2.0}

    history = fit(model, None, [(x, y)], steps=40, step=two_updates, eval_fn=lambda m: {"n": 1.0}, eval_every=20,
                  progress=False)
    assert history.loss[-1] < history.loss[0] / 4 and history.logs["updates"] == [2.0] * 40
    assert history.eval_steps == [20, 40] and all(calls)  # trained in train mode, evaluated on schedule
    with pytest.raises(TypeError, match="loss_fn"):
        fit(mlp(), ce, [(x, y)], steps=1, step=two_updates, progress=False)
    with pytest.raises(TypeError, match="loss_fn"):
        fit(mlp(), None, [(x, y)], steps=1, progress=False)


def test_a_loss_that_is_not_finite_never_reaches_the_weights():
    x, y = toy_data(8)
    model = mlp()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match="at step 1"):
        fit(model, lambda m, b: ce(m, b) * float("inf"), [(x, y)], steps=3, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_the_closing_line_shows_every_logged_scalar_smoothed(capsys):
    x, y = toy_data(8)
    fit(mlp(), lambda m, b: {"loss": ce(m, b), "half": 0.5 * ce(m, b).detach()}, [(x, y)], steps=3, desc="toy")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("toy: 3 steps in ") and ", half " in line and line.endswith("(smoothed)")
