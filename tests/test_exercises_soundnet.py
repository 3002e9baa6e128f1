"""Checkers of notebook 06: the references pass, typical wrong answers fail with a specific hint."""
import math

import pytest
import torch

from mmlearn import exercises as check
from mmlearn import soundnet


def test_conv_length_checker_passes_the_reference(capsys):
    check.conv_length(soundnet.conv_length)
    check.conv_length(lambda n, k, s, p: math.floor((n + 2 * p - k) / s) + 1)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, k, s, p: (n + 2 * p - k) // s, "add 1"),
    (lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1, "round \\*down\\*"),
    (lambda n, k, s, p: (n + p - k) // s + 1, "both"),
    (lambda n, k, s, p: (n - k) // s + 1, "left out the padding"),
    (lambda n, k, s, p: n // s, "add 1|the kernel matters"),
    (lambda n, k, s, p: (n + 2 * p - k) / s + 1, "whole number"),
    (lambda n, k, s, p: n, "expected"),
])
def test_conv_length_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.conv_length(wrong)


def kl(log_student, teacher):
    return (teacher[:, :, None] * (torch.log(teacher[:, :, None]) - log_student)).sum(dim=(1, 2))


def test_distillation_loss_checker_passes_the_reference(capsys):
    check.distillation_loss(soundnet.distillation_loss)
    check.distillation_loss(lambda lo, ls, to, ts: (kl(lo, to) + kl(ls, ts)).mean().float())
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda lo, ls, to, ts: (kl(lo, to) + kl(ls, ts)), "one number"),
    (lambda lo, ls, to, ts: ((lo.exp() * (lo - torch.log(to[:, :, None]))).sum(dim=(1, 2))
                             + (ls.exp() * (ls - torch.log(ts[:, :, None]))).sum(dim=(1, 2))).mean(), "KL\\(student"),
    (lambda lo, ls, to, ts: (-(to[:, :, None] * lo).sum(dim=(1, 2)) - (ts[:, :, None] * ls).sum(dim=(1, 2))).mean(),
     "cross-entropy"),
    (lambda lo, ls, to, ts: (kl(lo, to) + kl(ls, ts)).mean() / lo.shape[-1], "sum over the T time steps"),
    (lambda lo, ls, to, ts: kl(lo, to).mean(), "both heads"),
    (lambda lo, ls, to, ts: (kl(lo, to) + kl(ls, ts)).sum(), "average over the clips"),
    (lambda lo, ls, to, ts: (kl(lo, to) + kl(ls, ts)).mean() / 2, "add the two heads"),
    (lambda lo, ls, to, ts: (kl(lo, to) + kl(ls, ts)).mean() + 0.1, "wrong value"),
    (lambda lo, ls, to, ts: lo.nope, "raised AttributeError"),
])
def test_distillation_loss_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.distillation_loss(wrong)
