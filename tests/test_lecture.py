"""Lecture mode: a run trained before is loaded, with its history and the random state after it; anything
that changes the result changes the key; make test itself always trains, in a private folder."""
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmlearn import core, lecture
from mmlearn.train import fit

SCALE = 1.0  # a notebook-style global that the loss reads


def toy_data(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 5, generator=g)
    return x, (x[:, 0] + x[:, 1] > 0).long()


def scaled_ce(model, batch):
    x, y = batch
    return SCALE * F.cross_entropy(model(x), y)


def new_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))


def counted_batches(x, y, pulled):
    """Mini-batches of 16, forever, counting how many were taken."""
    while True:
        for i in range(0, len(x), 16):
            pulled.append(i)
            yield x[i:i + 16], y[i:i + 16]


def run(steps=40, data=None):
    """Train a fresh model; return it, its history, the number of batches taken and draws made afterwards."""
    x, y = data or toy_data()
    pulled = []
    model = new_model()
    history = fit(model, scaled_ce, counted_batches(x, y, pulled), steps, lr=1e-2, seed=0, desc="toy",
                  eval_fn=lambda m: {"acc": (m(x).argmax(1) == y).float().mean()}, eval_every=10)
    after = (torch.rand(3), np.random.rand(3), random.random())
    return model, history, len(pulled), after


@pytest.fixture
def lecture_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MMLEARN_LECTURE_CACHE", str(tmp_path / "lecture"))
    monkeypatch.delenv("MMLEARN_RETRAIN", raising=False)
    return tmp_path / "lecture"


def test_the_test_suite_always_trains_in_a_private_folder():
    assert lecture.retraining()
    assert lecture.directory() != core.cache_dir() / "lecture"


def test_a_second_run_loads_weights_history_and_random_state(lecture_cache, capsys):
    first, first_history, first_pulled, first_after = run()
    assert first_pulled == 40 and "loaded" not in capsys.readouterr().out
    assert len(list(lecture_cache.glob("fit-*.pt"))) == 1

    second, second_history, second_pulled, second_after = run()
    out = capsys.readouterr().out
    assert second_pulled == 1  # only the first batch, which is part of the key: no training
    assert "toy: loaded weights trained on" in out and "40 steps" in out and "MMLEARN_RETRAIN=1" in out
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    assert second_history.loss == first_history.loss and second_history.evals == first_history.evals
    assert second_history.eval_steps == [10, 20, 30, 40]
    assert torch.equal(first_after[0], second_after[0])
    assert np.array_equal(first_after[1], second_after[1]) and first_after[2] == second_after[2]


def test_what_changes_the_result_changes_the_key(lecture_cache, monkeypatch):
    run()
    assert run(steps=41)[2] == 41                                # another step budget
    x, y = toy_data()
    assert run(data=(x.flip(0), y.flip(0)))[2] == 40             # other data (another first batch)
    monkeypatch.setattr(__import__(__name__), "SCALE", 2.0)      # a global the loss reads
    assert run()[2] == 40
    monkeypatch.setenv("MMLEARN_RETRAIN", "1")
    monkeypatch.setattr(__import__(__name__), "SCALE", 1.0)
    assert run()[2] == 40                                        # asked to train again
    monkeypatch.setenv("MMLEARN_RETRAIN", "0")
    assert run()[2] == 1


def test_a_damaged_entry_is_named_and_trained_again(lecture_cache, capsys):
    model, history, _, _ = run()
    (entry,) = lecture_cache.glob("fit-*.pt")
    entry.write_bytes(b"half a file")
    capsys.readouterr()
    _, again, pulled, _ = run()
    out = capsys.readouterr().out
    assert pulled == 40 and str(entry) in out and "training again" in out
    assert again.loss == history.loss
    assert run()[2] == 1                                         # the entry was written anew


def test_digest_follows_values_code_and_in_place_changes():
    t = torch.zeros(1000)
    before = lecture.digest(t)
    t[3] = 1.0                                                   # in place: the remembered digest must not be reused
    assert lecture.digest(t) != before
    assert lecture.digest(torch.zeros(1000)) == before
    assert lecture.digest(lambda m: m * 2) != lecture.digest(lambda m: m * 3)
    assert lecture.digest({"a": 1, "b": [2, 3]}) == lecture.digest({"b": [2, 3], "a": 1})
    assert lecture.digest(np.arange(4)) != lecture.digest(np.arange(4).astype(np.int32))

    class Net(torch.nn.Module):                                  # a notebook-style class: its code counts
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)

        def forward(self, x):
            return self.linear(x)

    class OtherNet(Net):
        def forward(self, x):
            return self.linear(x).relu()

    torch.manual_seed(0)
    net = Net()
    other = OtherNet()
    other.load_state_dict(net.state_dict())
    assert lecture.digest(net) != lecture.digest(other)


def test_notebook_functions_are_read_whatever_the_kernel_calls_its_main_module():
    """A notebook's functions have __module__ '__main__', and in a Jupyter kernel sys.modules['__main__'] is
    a launcher file among the installed packages: the digest must still read their code and closures (two
    loss closures that differ only in a captured name once shared a key)."""
    source = "def make(name):\n    def loss_fn(m, b):\n        return name\n    return loss_fn\n"
    cell = {"__name__": "__main__"}
    exec(compile(source, "/tmp/ipykernel_1234/5678.py", "exec"), cell)
    assert lecture.digest(cell["make"]("vse")) != lecture.digest(cell["make"]("infonce"))
    assert lecture.digest(cell["make"]("vse")) == lecture.digest(cell["make"]("vse"))


def test_numpy_numbers_in_a_payload_come_back_as_numbers(lecture_cache):
    """Skip-gram's log holds NumPy scalars (a word count, a fraction done); a weights-only load refuses them."""
    made = []
    compute = lambda: made.append(1) or {"log": {"words": np.int64(7), "marks": [np.float64(0.5)]}}  # noqa: E731
    first = lecture.remembered("toy", (1, 2), compute)
    again = lecture.remembered("toy", (1, 2), compute)
    assert made == [1] and again["log"] == {"words": 7, "marks": [0.5]} and first["log"]["words"] == 7


def test_a_gan_trained_through_fit_is_remembered_by_variant(lecture_cache, capsys):
    from mmlearn import gan
    from mmlearn.world import World

    split = World().split("train", 32)
    text = F.normalize(torch.randn(32, 5, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    data = gan.CaptionedImages(torch.rand(32, 3, 32, 32) * 2 - 1, text, split.captions, split.scenes)
    cfg = gan.GanConfig(code_dim=8, z_dim=4, ngf=4, ndf=4)
    train = lambda variant: gan.train_gan(data, variant, 4, cfg, batch_size=16, progress=False)  # noqa: E731
    pair, history = train("cGAN")
    assert "loaded" not in capsys.readouterr().out
    again, again_history = train("cGAN")
    assert "cGAN: loaded weights" in capsys.readouterr().out and again_history == history
    assert all(torch.equal(a, b) for a, b in zip(pair["g"].state_dict().values(), again["g"].state_dict().values()))
    assert all(torch.equal(a, b) for a, b in zip(pair["d"].state_dict().values(), again["d"].state_dict().values()))
    train("GAN-CLS")
    assert "loaded" not in capsys.readouterr().out and len(list(lecture_cache.glob("fit-*.pt"))) == 2


def test_the_digest_of_an_object_holding_an_optimiser_is_the_same_every_time():
    from mmlearn.train import GradientStep

    def step():  # a fresh model and optimiser each time: digesting builds (and frees) their state dicts
        model = new_model()
        return GradientStep(scaled_ce, torch.optim.Adam(model.parameters()))

    assert len({lecture.digest(new_model(), step()) for _ in range(20)}) == 1
