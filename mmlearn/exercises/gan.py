"""Checkers for notebook 04 (text to image): the matching-aware discriminator loss, and conditioning augmentation."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .common import call, close, fail, passed


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)))


def matching_aware_loss(fn, exercise: str = "04.1") -> None:
    """Check fn(real, wrong, fake) -> scalar: GAN-CLS's discriminator loss on logits (B,) of (real image, right text),
    (real image, wrong text), (generated image, right text): BCE(real, 1) + 1/2 [BCE(wrong, 0) + BCE(fake, 0)]."""
    from ..gan import discriminator_loss as reference

    gen = torch.Generator().manual_seed(0)
    real, wrong, fake = (torch.randn(8, generator=gen, dtype=torch.float64) * 2 for _ in range(3))
    want = reference(real, fake, wrong)
    out = call(exercise, fn, real.clone(), wrong.clone(), fake.clone())
    if not torch.is_tensor(out) or out.numel() != 1:
        fail(exercise, f"return one number (a scalar tensor), the loss averaged over the batch; got "
                       f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}.")
    out = out.reshape(())
    if close(out, want):
        passed(exercise, "real -> 1; wrong text and generated image -> 0, each weighted 1/2.")
        return
    guesses = {
        "the wrong and fake terms are each weighted 1/2 in Reed et al. (their sum stands for one 'not a match' term); "
        "you added them at full weight": _bce(real, 1) + _bce(wrong, 0) + _bce(fake, 0),
        "a real image with the wrong text must count as *fake* (label 0): that is what makes D matching-aware":
            _bce(real, 1) + 0.5 * (_bce(wrong, 1) + _bce(fake, 0)),
        "the wrong-text term is missing: without it this is the plain conditional GAN's loss": _bce(real, 1) + _bce(fake, 0),
        "the inputs are logits: use binary_cross_entropy_with_logits (or apply the sigmoid once, not twice)":
            F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(real)), torch.ones_like(real))
            + 0.5 * (F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(wrong)), torch.zeros_like(wrong))
                     + F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(fake)), torch.zeros_like(fake))),
        "average over the batch, don't sum": 8 * want,
    }
    for hint, value in guesses.items():
        if close(out, value.reshape(())):
            fail(exercise, hint + ".")
    fail(exercise, "the value is wrong: BCE(real, 1) + 0.5 * (BCE(wrong, 0) + BCE(fake, 0)), each BCE averaged over the batch.")


def conditioning_augmentation(fn, exercise: str = "04.2") -> None:
    """Check fn(mu, logvar, eps) -> (c, kl): the reparameterised sample c = mu + exp(logvar / 2) * eps (B, d), and
    KL(N(mu, sigma^2) || N(0, I)) = 1/2 sum_d (mu^2 + sigma^2 - log sigma^2 - 1), averaged over the batch."""
    gen = torch.Generator().manual_seed(1)
    mu, logvar, eps = (torch.randn(5, 6, generator=gen, dtype=torch.float64) for _ in range(3))
    sigma = torch.exp(0.5 * logvar)
    want_c = mu + sigma * eps
    want_kl = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(1).mean()
    out = call(exercise, fn, mu.clone(), logvar.clone(), eps.clone())
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(exercise, "return two things: the sample c (B, d) and the KL term (a scalar).")
    c, kl = out
    if not torch.is_tensor(c) or c.shape != want_c.shape:
        fail(exercise, f"c should have the shape of mu, {tuple(mu.shape)}.")
    if close(c, mu):
        fail(exercise, "c equals mu: add the noise, sigma * eps (that is what makes it a sample).")
    if close(c, mu + logvar.exp() * eps):
        fail(exercise, "exp(logvar) is the variance sigma^2; the noise is scaled by sigma = exp(logvar / 2).")
    if close(c, mu + logvar * eps):
        fail(exercise, "logvar is log sigma^2, not sigma: scale eps by exp(logvar / 2).")
    if not close(c, want_c):
        fail(exercise, "c should be mu + exp(logvar / 2) * eps.")
    if not torch.is_tensor(kl) or kl.numel() != 1:
        fail(exercise, "the KL term should be one number, averaged over the batch.")
    kl = kl.reshape(())
    if close(kl, want_kl):
        passed(exercise, "c = mu + sigma * eps, and KL = 1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1).")
        return
    per_element = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1)
    guesses = {
        "you averaged over the dimensions too (StackGAN's code does, and scales its weight to match); here the KL "
        "is summed over the dimensions and averaged over the batch": per_element.mean(),
        "the sign is flipped: a KL divergence is never negative": -want_kl,
        "the -1 inside the sum is missing (without it the KL of N(0, I) to itself is not 0)":
            0.5 * (mu ** 2 + logvar.exp() - logvar).sum(1).mean(),
        "sigma^2 is exp(logvar), not logvar": 0.5 * (mu ** 2 + logvar - logvar - 1).sum(1).mean(),
        "average over the batch, don't sum": per_element.sum(),
    }
    for hint, value in guesses.items():
        if close(kl, value):
            fail(exercise, hint + ".")
    fail(exercise, "the KL value is wrong: 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(1).mean().")
