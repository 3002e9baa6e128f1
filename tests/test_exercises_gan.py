"""Checkers of notebook 04: the references pass, typical wrong answers fail with a specific hint."""
import pytest
import torch
import torch.nn.functional as F

from mmlearn import exercises as check
from mmlearn import gan


def bce(x, target):
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, float(target)))


def test_matching_aware_loss_checker_passes_the_reference(capsys):
    check.matching_aware_loss(lambda real, wrong, fake: gan.discriminator_loss(real, fake, wrong))
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda r, w, f: bce(r, 1) + bce(w, 0) + bce(f, 0), "weighted 1/2"),
    (lambda r, w, f: bce(r, 1) + 0.5 * (bce(w, 1) + bce(f, 0)), "label 0"),
    (lambda r, w, f: bce(r, 1) + bce(f, 0), "wrong-text term is missing"),
    (lambda r, w, f: F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(r)), torch.ones_like(r))
     + 0.5 * (F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(w)), torch.zeros_like(w))
              + F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(f)), torch.zeros_like(f))), "logits"),
    (lambda r, w, f: len(r) * gan.discriminator_loss(r, f, w), "don't sum"),
    (lambda r, w, f: torch.stack([bce(r, 1), bce(w, 0)]), "one number"),
    (lambda r, w, f: gan.discriminator_loss(r, f, w) + 0.1, "value is wrong"),
])
def test_matching_aware_loss_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.matching_aware_loss(wrong)


def reference_ca(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps, gan.kl_to_standard_normal(mu, logvar)


def test_conditioning_augmentation_checker_passes_the_reference(capsys):
    check.conditioning_augmentation(reference_ca)
    assert "passed" in capsys.readouterr().out


def kl_terms(mu, logvar):
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1)


@pytest.mark.parametrize("wrong, hint", [
    (lambda m, lv, e: (m, reference_ca(m, lv, e)[1]), "add the noise"),
    (lambda m, lv, e: (m + lv.exp() * e, reference_ca(m, lv, e)[1]), "variance"),
    (lambda m, lv, e: (m + lv * e, reference_ca(m, lv, e)[1]), "not sigma"),
    (lambda m, lv, e: (reference_ca(m, lv, e)[0], kl_terms(m, lv).mean()), "averaged over the dimensions"),
    (lambda m, lv, e: (reference_ca(m, lv, e)[0], -kl_terms(m, lv).sum(1).mean()), "sign is flipped"),
    (lambda m, lv, e: (reference_ca(m, lv, e)[0], 0.5 * (m ** 2 + lv.exp() - lv).sum(1).mean()), "-1 inside"),
    (lambda m, lv, e: (reference_ca(m, lv, e)[0], kl_terms(m, lv).sum()), "don't sum"),
    (lambda m, lv, e: reference_ca(m, lv, e)[0], "two things"),
])
def test_conditioning_augmentation_checker_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(check.ExerciseFailed, match=hint):
        check.conditioning_augmentation(wrong)
