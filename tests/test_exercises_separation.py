"""Checkers of notebook 08: the references pass, typical wrong answers fail with a specific hint."""
import math

import pytest
import torch

from mmlearn import exercises as check
from mmlearn import metrics, separation


def test_complex_mask_checker_passes_the_reference(capsys):
    check.apply_mask(separation.apply_mask)
    check.apply_mask(lambda m, s: separation.as_channels(separation.as_complex(m) * separation.as_complex(s)))
    assert "passed" in capsys.readouterr().out


def ch(re, im):
    return torch.stack([re, im], dim=-3)


@pytest.mark.parametrize("wrong, hint", [
    (lambda m, s: m * s, "channel by channel"),
    (lambda m, s: ch(m[:, 0] * s[:, 0] + m[:, 1] * s[:, 1], m[:, 0] * s[:, 1] - m[:, 1] * s[:, 0]), "conjugate"),
    (lambda m, s: ch(m[:, 0] * s[:, 1] + m[:, 1] * s[:, 0], m[:, 0] * s[:, 0] - m[:, 1] * s[:, 1]), "swapped"),
    (lambda m, s: m.pow(2).sum(1, keepdim=True).sqrt() * s, "magnitude only"),
    (lambda m, s: separation.as_complex(m) * separation.as_complex(s), "not a complex tensor"),
    (lambda m, s: (m * s).sum(1), "shape"),
    (lambda m, s: separation.apply_mask(m, s) + 0.1, "values are wrong"),
])
def test_complex_mask_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.apply_mask(wrong)


def _si_sdr_manual(est, ref):
    est, ref = est - est.mean(-1, keepdim=True), ref - ref.mean(-1, keepdim=True)
    target = (est * ref).sum(-1, keepdim=True) / (ref ** 2).sum(-1, keepdim=True) * ref
    return 10 * torch.log10((target ** 2).sum(-1) / ((est - target) ** 2).sum(-1))


def test_si_sdr_checker_passes_the_reference(capsys):
    check.si_sdr(metrics.si_sdr)
    check.si_sdr(_si_sdr_manual)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda e, r: -_si_sdr_manual(e, r), "sign is flipped"),
    (lambda e, r: metrics.si_sdr(e, r, zero_mean=False), "subtract each signal's mean"),
    (lambda e, r: 10 * torch.log10(((r - r.mean(1, keepdim=True)) ** 2).sum(1)
                                   / ((e - e.mean(1, keepdim=True) - r + r.mean(1, keepdim=True)) ** 2).sum(1)), "plain SNR"),
    (lambda e, r: _si_sdr_manual(e, r) * math.log(10), "log10, not the natural log"),
    (lambda e, r: 2 * _si_sdr_manual(e, r), "20 log10"),
    (lambda e, r: _si_sdr_manual(e, r)[:, None], "one value per signal"),
    (lambda e, r: _si_sdr_manual(e, r) + 1, "values are wrong"),
])
def test_si_sdr_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.si_sdr(wrong)


def test_si_sdr_checker_rejects_projecting_the_reference_on_the_estimate():
    def backwards(e, r):
        e, r = e - e.mean(1, keepdim=True), r - r.mean(1, keepdim=True)
        beta = (e * r).sum(1, keepdim=True) / (e ** 2).sum(1, keepdim=True)
        return 10 * torch.log10((r ** 2).sum(1) / ((beta * e - r) ** 2).sum(1))
    with pytest.raises(check.ExerciseFailed, match="onto the \\*reference\\*"):
        check.si_sdr(backwards)
