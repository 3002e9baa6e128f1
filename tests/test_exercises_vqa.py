"""Checkers of notebook 05: the references pass, typical wrong answers fail with a specific hint."""
import pytest
import torch

from mmlearn import exercises as check
from mmlearn.fusion import append_one


def outer(a, b):
    return torch.einsum("bi,bj->bij", a, b).flatten(1)


def tensor_fusion(x, y):
    return outer(append_one(x), append_one(y))


def ones_first(x, y):
    one = lambda t: torch.cat([t.new_ones(len(t), 1), t], 1)  # noqa: E731
    return outer(one(x), one(y))


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, y: outer(x, y), "append a 1"),
    (lambda x, y: torch.cat([append_one(x), append_one(y)], 1), "concatenation"),
    (lambda x, y: torch.einsum("bi,bj->bij", append_one(x), append_one(y)), "flatten"),
    (ones_first, "after"),
    (lambda x, y: outer(append_one(y), append_one(x)), "not y ⊗ x"),
    (lambda x, y: outer(torch.cat([x, torch.zeros(len(x), 1, dtype=x.dtype)], 1),
                        torch.cat([y, torch.zeros(len(y), 1, dtype=y.dtype)], 1)), "not a 0"),
    (lambda x, y: tensor_fusion(x, y) * 2, "wrong values"),
    (lambda x, y: x.foo, "raised AttributeError"),
])
def test_tensor_fusion_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.tensor_fusion(wrong)


def low_rank(x, y, fx, fy, w, b):
    px = torch.einsum("bi,rio->bro", append_one(x), fx)
    py = torch.einsum("bj,rjo->bro", append_one(y), fy)
    return px, py


def lmf(x, y, fx, fy, w, b):
    px, py = low_rank(x, y, fx, fy, w, b)
    return (px * py * w[:, None]).sum(1) + b


def no_append(x, y, fx, fy, w, b):
    px, py = torch.einsum("bi,rio->bro", x, fx[:, :-1]), torch.einsum("bj,rjo->bro", y, fy[:, :-1])
    return (px * py * w[:, None]).sum(1) + b


@pytest.mark.parametrize("wrong, hint", [
    (lambda *a: (lambda px, py: ((px + py) * a[4][:, None]).sum(1) + a[5])(*low_rank(*a)), "product"),
    (lambda *a: (lambda px, py: (px * py).sum(1) + a[5])(*low_rank(*a)), "rank_weights"),
    (lambda *a: (lambda px, py: (px * py * a[4][:, None]).sum(1))(*low_rank(*a)), "bias"),
    (lambda *a: (lambda px, py: (px * py * a[4][:, None]).mean(1) + a[5])(*low_rank(*a)), "do not average"),
    (lambda *a: (lambda px, py: px * py * a[4][:, None])(*low_rank(*a)), "sum over the rank"),
    (no_append, "append a 1"),
    (lambda *a: lmf(*a) + 1, "wrong values"),
])
def test_low_rank_fusion_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.low_rank_fusion(wrong)


def test_fusion_checkers_pass_the_references_and_let_not_implemented_through(capsys):
    check.tensor_fusion(tensor_fusion)
    check.low_rank_fusion(lmf)
    assert capsys.readouterr().out.count("passed") == 2

    def todo(*args):
        raise NotImplementedError("Exercise 05.1: ...")
    for checker in (check.tensor_fusion, check.low_rank_fusion):
        with pytest.raises(NotImplementedError):
            checker(todo)
