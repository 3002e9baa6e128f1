"""Checkers for notebook 05 (VQA and fusion): Tensor Fusion and the Low-rank Fusion forward pass."""
from __future__ import annotations

import torch

from .common import call, close, fail, passed


def _pairs(gen, cases):
    for b, dx, dy in cases:
        yield torch.randn(b, dx, generator=gen, dtype=torch.float64), torch.randn(b, dy, generator=gen, dtype=torch.float64)


def tensor_fusion(fn, exercise: str = "05.1") -> None:
    """Check fn(x (B, Dx), y (B, Dy)) -> vec([x; 1] ⊗ [y; 1]) (B, (Dx+1)(Dy+1)), x's index the slower one."""
    from ..fusion import append_one

    gen = torch.Generator().manual_seed(0)
    for x, y in _pairs(gen, [(1, 2, 3), (4, 5, 3)]):
        b, dx, dy = len(x), x.shape[1], y.shape[1]
        want = torch.einsum("bi,bj->bij", append_one(x), append_one(y)).flatten(1)
        z = call(exercise, fn, x.clone(), y.clone())
        if not torch.is_tensor(z):
            fail(exercise, f"return a tensor, got {type(z).__name__}.")
        if z.shape == (b, dx * dy):
            fail(exercise, "the result has Dx·Dy numbers: append a 1 to each vector first, [x; 1] and [y; 1], so "
                           "the unimodal terms x and y survive next to x ⊗ y.")
        if z.shape == (b, dx + dy + 2) or z.shape == (b, dx + dy):
            fail(exercise, "that is a concatenation; Tensor Fusion takes the *outer* product [x; 1] ⊗ [y; 1].")
        if z.shape == (b, dx + 1, dy + 1):
            fail(exercise, "flatten the (Dx+1) x (Dy+1) outer product of each example into one vector: .flatten(1).")
        if z.shape != want.shape:
            fail(exercise, f"expected shape (B, (Dx+1)(Dy+1)) = {tuple(want.shape)}, got {tuple(z.shape)}.")
        if close(z, torch.einsum("bi,bj->bij", torch.cat([x.new_ones(b, 1), x], 1),
                                 torch.cat([y.new_ones(b, 1), y], 1)).flatten(1)):
            fail(exercise, "the 1 goes *after* the features, [x; 1], as in `fusion.append_one` (and Zadeh et al.).")
        if close(z, torch.einsum("bj,bi->bji", append_one(y), append_one(x)).flatten(1)):
            fail(exercise, "x ⊗ y, not y ⊗ x: x's index is the slower one (einsum 'bi,bj->bij').")
        if close(z, torch.einsum("bi,bj->bij", torch.cat([x, x.new_zeros(b, 1)], 1),
                                 torch.cat([y, y.new_zeros(b, 1)], 1)).flatten(1)):
            fail(exercise, "append a 1, not a 0: with a 0 the unimodal terms vanish.")
        if not close(z, want, 1e-5):
            fail(exercise, "wrong values: z[b] = outer([x[b]; 1], [y[b]; 1]).flatten().")
    passed(exercise, "vec([x; 1] ⊗ [y; 1]) matches the reference, unimodal terms included.")


def low_rank_fusion(fn, exercise: str = "05.2") -> None:
    """Check fn(x, y, factor_x (r, Dx+1, D), factor_y (r, Dy+1, D), rank_weights (r,), bias (D,)) -> (B, D)
    against Tensor Fusion with the full weight tensor rebuilt from the factors."""
    from ..fusion import LowRankFusion, TensorFusion, append_one

    gen = torch.Generator().manual_seed(1)
    for (x, y), (rank, d) in zip(_pairs(gen, [(3, 4, 5), (6, 3, 2)]), [(3, 7), (1, 4)]):
        torch.manual_seed(rank)
        lmf = LowRankFusion(x.shape[1], y.shape[1], d, rank=rank).double()
        with torch.no_grad():
            lmf.rank_weights.copy_(torch.rand(rank, generator=gen, dtype=torch.float64) + 0.5)
            lmf.bias.copy_(torch.randn(d, generator=gen, dtype=torch.float64))
            tfn = TensorFusion(x.shape[1], y.shape[1], d).double()       # the same map, with the tensor formed
            tfn.out.weight.copy_(lmf.full_weight().reshape(-1, d).t())
            tfn.out.bias.copy_(lmf.bias)
            want = tfn(x, y)
        fx, fy, w, bias = (t.detach().clone() for t in (lmf.factor_x, lmf.factor_y, lmf.rank_weights, lmf.bias))
        z = call(exercise, fn, x.clone(), y.clone(), fx, fy, w, bias)
        if not torch.is_tensor(z) or z.shape != want.shape:
            got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
            fail(exercise, f"expected (B, D) = {tuple(want.shape)}, got {got}: sum over the rank dimension.")
        z = z.detach()
        px = torch.einsum("bi,rio->bro", append_one(x), fx)
        py = torch.einsum("bj,rjo->bro", append_one(y), fy)
        if close(z, (px + py).mul(w[:, None]).sum(1) + bias):
            fail(exercise, "the modalities are combined by an element-wise *product*, px ⊙ py, not a sum.")
        if close(z, (px * py).sum(1) + bias) and not torch.allclose(w, torch.ones_like(w)):
            fail(exercise, "weight each rank's term by rank_weights[r] before summing over the rank.")
        if close(z, (px * py).mul(w[:, None]).sum(1)):
            fail(exercise, "add the bias.")
        if close(z, (px * py).mul(w[:, None]).mean(1) + bias) and rank > 1:
            fail(exercise, "sum over the rank, do not average (the rank weights already scale each term).")
        if close(z, torch.einsum("bi,rio->bro", x, fx[:, :-1]).mul(torch.einsum("bj,rjo->bro", y, fy[:, :-1]))
                 .mul(w[:, None]).sum(1) + bias):
            fail(exercise, "append a 1 to x and to y (fusion.append_one) before projecting by the factors.")
        if not close(z, want, 1e-5):
            fail(exercise, "wrong values: z = Σ_r w_r · ([x;1] @ Fx[r]) ⊙ ([y;1] @ Fy[r]) + b.")
    passed(exercise, "equals Tensor Fusion with the full weight tensor rebuilt from your factors' rank.")
