"""Checkers for notebook 06 (SoundNet): a 1-D convolution's output length and the two-head distillation loss."""
from __future__ import annotations

import math

import torch

from .common import call, close, fail, passed


def conv_length(fn, exercise: str = "06.1") -> None:
    """Check fn(n, kernel, stride, padding) -> the output length of a 1-D convolution (or pooling) over n samples,
    against nn.Conv1d itself on cases where the common mistakes give other numbers."""
    cases = [(16_000, 64, 2, 32), (2_000, 32, 2, 16), (33, 2, 2, 0), (10, 3, 1, 0), (9, 4, 2, 2), (100, 8, 3, 4),
             (7, 4, 1, 0), (101, 4, 4, 0)]
    for n, k, s, p in cases:
        want = torch.nn.Conv1d(1, 1, k, s, p)(torch.zeros(1, 1, n)).shape[-1]
        got = call(exercise, fn, n, k, s, p)
        if isinstance(got, float) and not got.is_integer():
            fail(exercise, f"a length is a whole number of steps: for n={n}, k={k}, s={s}, p={p} you returned {got}; "
                           "round down (//).")
        if got == want:
            continue
        if got == (n + 2 * p - k) // s:
            fail(exercise, "add 1: the first window already gives one output, then one more every stride "
                           f"(n={n}, k={k}, s={s}, p={p}: expected {want}, got {got}).")
        if got == math.ceil((n + 2 * p - k) / s) + 1:
            fail(exercise, "round *down*: a window that would run past the (padded) end is not computed "
                           f"(n={n}, k={k}, s={s}, p={p}: expected {want}, got {got}).")
        if got == (n + p - k) // s + 1:
            fail(exercise, "padding is added at *both* ends: n + 2p.")
        if got == (n - k) // s + 1:
            fail(exercise, "you left out the padding: the input is n + 2p samples long once padded.")
        if got == n // s:
            fail(exercise, "the kernel matters too: floor((n + 2p - k) / s) + 1, not n / s.")
        fail(exercise, f"for n={n}, kernel {k}, stride {s}, padding {p}: expected {want}, got {got}.")
    passed(exercise, "floor((n + 2p - k) / s) + 1 matches nn.Conv1d on all cases.")


def distillation_loss(fn, exercise: str = "06.2") -> None:
    """Check fn(log_objects (B, K, T), log_scenes (B, S, T), teacher_objects (B, K), teacher_scenes (B, S)) -> scalar:
    the sum over heads and time steps of KL(teacher || student), averaged over clips."""
    from ..soundnet import distillation_loss as reference

    gen = torch.Generator().manual_seed(0)
    b, k, s, t = 3, 5, 4, 3
    log_o = torch.log_softmax(torch.randn(b, k, t, generator=gen, dtype=torch.float64), dim=1)
    log_s = torch.log_softmax(torch.randn(b, s, t, generator=gen, dtype=torch.float64), dim=1)
    teach_o = torch.softmax(torch.randn(b, k, generator=gen, dtype=torch.float64) * 2, dim=1)
    teach_s = torch.softmax(torch.randn(b, s, generator=gen, dtype=torch.float64) * 2, dim=1)
    args = (log_o, log_s, teach_o, teach_s)
    want = reference(*args)
    out = call(exercise, fn, *(a.clone() for a in args))
    if not torch.is_tensor(out):
        fail(exercise, f"return a tensor, got {type(out).__name__}.")
    if out.numel() != 1:
        fail(exercise, f"return one number (a scalar), the mean over clips; got shape {tuple(out.shape)}.")
    out = out.reshape(())

    def kl(log_student, teacher, reduce_time="sum", reverse=False):
        teacher = teacher[:, :, None].expand_as(log_student)
        if reverse:
            per = (log_student.exp() * (log_student - torch.log(teacher))).sum(1)
        else:
            per = (teacher * (torch.log(teacher) - log_student)).sum(1)
        return per.sum(1) if reduce_time == "sum" else per.mean(1)

    def cross_entropy(log_student, teacher):
        return -(teacher[:, :, None] * log_student).sum(dim=(1, 2))

    if close(out, (kl(log_o, teach_o, reverse=True) + kl(log_s, teach_s, reverse=True)).mean()):
        fail(exercise, "that is KL(student || teacher); SoundNet matches the teacher's distribution: KL(teacher || student) "
                       "= sum teacher * (log teacher - log student).")
    if close(out, (cross_entropy(log_o, teach_o) + cross_entropy(log_s, teach_s)).mean()):
        fail(exercise, "that is the cross-entropy -sum teacher * log student. It has the same gradient, but KL also "
                       "subtracts the teacher's entropy, so that the loss is 0 when the student agrees.")
    if close(out, (kl(log_o, teach_o, "mean") + kl(log_s, teach_s, "mean")).mean()):
        fail(exercise, "sum over the T time steps (every step is a prediction of the clip's teacher), don't average.")
    if close(out, kl(log_o, teach_o).mean()) or close(out, kl(log_s, teach_s).mean()):
        fail(exercise, "both heads count: the objects' KL plus the scenes' KL.")
    if close(out, (kl(log_o, teach_o) + kl(log_s, teach_s)).sum()):
        fail(exercise, "average over the clips of the batch (.mean()), after summing heads and time steps.")
    if close(out, (kl(log_o, teach_o) + kl(log_s, teach_s)).mean() / 2):
        fail(exercise, "add the two heads' KL, don't average them.")
    if not close(out, want, 1e-6):
        fail(exercise, "wrong value: mean over clips of sum over heads and steps of sum_c teacher_c (log teacher_c - "
                       "log student_c,t).")
    if not close(call(exercise, fn, torch.log(teach_o)[:, :, None].expand(b, k, t), torch.log(teach_s)[:, :, None].expand(b, s, t),
                      teach_o, teach_s).reshape(()), torch.zeros((), dtype=torch.float64), 1e-6):
        fail(exercise, "a student that predicts the teacher exactly should have loss 0.")
    passed(exercise, "the two-head KL(teacher || student) matches the reference, and is 0 when the student agrees.")
