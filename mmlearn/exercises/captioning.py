"""Checkers for notebook 03 (attention captioning): soft attention and one beam-search step."""
from __future__ import annotations

import torch

from .common import call, fail, passed


def soft_attention(fn, exercise: str = "03.1") -> None:
    """Check fn(features (B, L, C), hidden (B, H), encoder_att, decoder_att, full_att) -> (context (B, C), alpha (B, L))
    against `mmlearn.captioning.SoftAttention` with the same layers."""
    from ..captioning import SoftAttention

    torch.manual_seed(0)
    for b, n_cells, c, h in [(2, 5, 4, 3), (3, 64, 8, 6)]:
        ref = SoftAttention(c, h, 7).double()
        features, hidden = torch.randn(b, n_cells, c, dtype=torch.float64), torch.randn(b, h, dtype=torch.float64)
        want_context, want_alpha = ref(features, hidden)
        out = call(exercise, fn, features.clone(), hidden.clone(), ref.encoder_att, ref.decoder_att, ref.full_att)
        if not (isinstance(out, tuple) and len(out) == 2):
            fail(exercise, "return two things: (context (B, C), alpha (B, L)).")
        context, alpha = out
        if alpha.shape != want_alpha.shape:
            if alpha.numel() == want_alpha.numel():
                fail(exercise, f"alpha has shape {tuple(alpha.shape)}; squeeze it to (B, L) = {tuple(want_alpha.shape)}.")
            fail(exercise, f"alpha should be (B, L) = {tuple(want_alpha.shape)}, one weight per cell; got {tuple(alpha.shape)}.")
        if not torch.allclose(alpha.sum(1), torch.ones(b, dtype=alpha.dtype), atol=1e-6):
            fail(exercise, "each image's attention weights must sum to 1: softmax over the cells (dim=1), not the batch.")
        energy_no_tanh = ref.full_att(ref.encoder_att(features) + ref.decoder_att(hidden).unsqueeze(1)).squeeze(2)
        if torch.allclose(alpha, energy_no_tanh.softmax(1), atol=1e-6):
            fail(exercise, "missing the tanh between (encoder_att + decoder_att) and full_att.")
        if not torch.allclose(alpha, want_alpha, atol=1e-6):
            fail(exercise, "wrong weights: e = full_att(tanh(encoder_att(features) + decoder_att(hidden)[:, None]))")
        if context.shape != want_context.shape:
            fail(exercise, f"context should be (B, C) = {tuple(want_context.shape)}; got {tuple(context.shape)}.")
        if torch.allclose(context, features.mean(1), atol=1e-6):
            fail(exercise, "the context is a *weighted* sum of the cells, weighted by alpha — not their mean.")
        if not torch.allclose(context, want_context, atol=1e-6):
            fail(exercise, "context = (alpha[:, :, None] * features).sum(dim=1).")
    passed(exercise, "attention weights and context match the reference.")


def beam_step(fn, exercise: str = "03.2") -> None:
    """Check fn(log_probs (k, V), scores (k,), beam) -> (new scores, origin beam index, word) against
    `mmlearn.captioning.beam_step`."""
    from ..captioning import beam_step as ref

    gen = torch.Generator().manual_seed(0)
    for k, vocab, beam in [(1, 7, 3), (3, 7, 3), (4, 50, 4)]:
        log_probs = torch.randn(k, vocab, generator=gen, dtype=torch.float64).log_softmax(1)
        scores = -torch.rand(k, generator=gen, dtype=torch.float64) * 5
        out = call(exercise, fn, log_probs.clone(), scores.clone(), beam)
        if not (isinstance(out, tuple) and len(out) == 3):
            fail(exercise, "return three tensors: (scores, origin beam, word).")
        got_scores, origin, word = out
        want_scores, want_origin, want_word = ref(log_probs, scores, beam)
        if origin.is_floating_point():
            fail(exercise, "the origin beam is an integer: use torch.div(flat, V, rounding_mode='floor') or //, "
                            "not /, which gives floats (a known bug of the reference tutorial).")
        if torch.allclose(got_scores, log_probs.view(-1).topk(min(beam, log_probs.numel())).values):
            fail(exercise, "add each beam's cumulative score to its next-word log-probabilities before ranking.")
        if torch.equal(word, want_origin * vocab + want_word) and not torch.equal(word, want_word):
            fail(exercise, "the word is the flat index modulo V (flat % V), not the flat index itself.")
        if not torch.allclose(got_scores, want_scores) or not torch.equal(origin, want_origin) or not torch.equal(word, want_word):
            fail(exercise, "rank all k x V continuations together (flatten, then topk(beam)); origin = flat // V, "
                            "word = flat % V.")
    passed(exercise, "matches the reference beam step.")
