"""Checkers for notebook 08 (the cocktail party): applying a complex ratio mask, and SI-SDR."""
from __future__ import annotations

import math

import torch

from .common import call, close, fail, passed


def apply_mask(fn, exercise: str = "08.1") -> None:
    """Check fn(mask (B, 2, F, T), spec (B, 2, F, T)) -> (B, 2, F, T): the complex product of mask and spectrogram,
    real and imaginary parts as channels 0 and 1."""
    from ..separation import apply_mask as reference

    gen = torch.Generator().manual_seed(0)
    mask, spec = (torch.randn(2, 2, 5, 4, generator=gen, dtype=torch.float64) for _ in range(2))
    want = reference(mask, spec)
    out = call(exercise, fn, mask.clone(), spec.clone())
    if torch.is_tensor(out) and out.is_complex():
        fail(exercise, "return real and imaginary parts as two channels (dim -3), e.g. torch.stack([re, im], dim=-3), "
                       "not a complex tensor.")
    if not torch.is_tensor(out) or out.shape != want.shape:
        fail(exercise, f"expected a tensor of shape {tuple(want.shape)} (same as the spectrogram), got "
                       f"{tuple(out.shape) if torch.is_tensor(out) else type(out).__name__}.")
    if close(out, want):
        passed(exercise, "(a + ib)(c + id) = (ac - bd) + i(ad + bc) on every bin.")
        return
    a, b, c, d = mask[:, 0], mask[:, 1], spec[:, 0], spec[:, 1]
    if close(out, mask * spec):
        fail(exercise, "multiplying channel by channel gives (ac, bd): that is not a complex product. "
                       "Real part ac - bd, imaginary part ad + bc.")
    if close(out, torch.stack([a * c + b * d, b * c - a * d], 1)) or close(out, torch.stack([a * c + b * d, a * d - b * c], 1)):
        fail(exercise, "a sign is flipped: that multiplies by the *conjugate* of the mask (a rotation the wrong way). "
                       "Real part ac - bd, imaginary part ad + bc.")
    if close(out, torch.stack([a * d + b * c, a * c - b * d], 1)):
        fail(exercise, "real and imaginary parts are swapped: channel 0 is the real part (ac - bd).")
    if close(out, torch.sqrt(a ** 2 + b ** 2)[:, None] * spec):
        fail(exercise, "that scales by the mask's magnitude only; a complex mask also rotates the phase.")
    fail(exercise, "the values are wrong: with mask = a + ib and spectrogram = c + id, return "
                   "torch.stack([a*c - b*d, a*d + b*c], dim=-3).")


def si_sdr(fn, exercise: str = "08.2") -> None:
    """Check fn(estimate (B, samples), reference (B, samples)) -> (B,) SI-SDR in dB, zero-mean as in the
    separation literature (Le Roux et al. 2019)."""
    from ..metrics import si_sdr as reference

    gen = torch.Generator().manual_seed(1)
    ref = torch.randn(4, 400, generator=gen, dtype=torch.float64) + torch.tensor([[0.5], [-0.3], [1.0], [0.0]], dtype=torch.float64)
    est = (torch.tensor([[0.3], [2.0], [1.0], [-0.7]], dtype=torch.float64) * ref
           + 0.6 * torch.randn(4, 400, generator=gen, dtype=torch.float64) + 0.4)
    want = reference(est, ref)
    out = call(exercise, fn, est.clone(), ref.clone())
    if not torch.is_tensor(out):
        fail(exercise, f"return a tensor of one value per signal, got {type(out).__name__}.")
    if out.shape != want.shape:
        fail(exercise, f"one value per signal: expected shape {tuple(want.shape)} (sum over the last axis), got {tuple(out.shape)}.")
    if close(out, want, 1e-3):
        passed(exercise, "zero-mean, scale-invariant: 10 log10(||alpha s||^2 / ||s_hat - alpha s||^2).")
        return
    if close(out, -want, 1e-3):
        fail(exercise, "the sign is flipped: SI-SDR is the target's energy over the error's (higher is better).")
    if close(out, reference(est, ref, zero_mean=False), 1e-3):
        fail(exercise, "subtract each signal's mean first (zero-mean SI-SDR): a constant offset is not speech.")
    e0, r0 = est - est.mean(1, keepdim=True), ref - ref.mean(1, keepdim=True)
    if close(out, 10 * torch.log10((r0 ** 2).sum(1) / ((e0 - r0) ** 2).sum(1)), 1e-3):
        fail(exercise, "that is the plain SNR: scale the reference first (alpha = <s_hat, s> / ||s||^2), so that a "
                       "louder or quieter copy of the reference is not counted as error.")
    beta = (e0 * r0).sum(1, keepdim=True) / (e0 ** 2).sum(1, keepdim=True)
    if close(out, 10 * torch.log10((r0 ** 2).sum(1) / ((beta * e0 - r0) ** 2).sum(1)), 1e-3):
        fail(exercise, "project the estimate onto the *reference* (scale s by alpha = <s_hat, s> / ||s||^2), not the "
                       "other way round; the two differ whenever the estimate contains noise.")
    if close(out, want * math.log(10), 1e-3):
        fail(exercise, "use log10, not the natural log (dB = 10 log10 of a power ratio).")
    if close(out, 2 * want, 1e-3):
        fail(exercise, "the ratio is already of energies (squared norms): 10 log10, not 20 log10.")
    fail(exercise, "the values are wrong: remove the means, alpha = <s_hat, s> / ||s||^2, target = alpha s, "
                   "error = s_hat - target, return 10 log10(||target||^2 / ||error||^2).")
