"""Fusion operators: how two modalities' vectors become one.

Every operator is an `nn.Module` with the same signature, so they can be swapped in one line:

    fuse = TensorFusion(dim_x=64, dim_y=128, dim_out=256)
    z = fuse(x, y)            # x (B, dim_x), y (B, dim_y) -> z (B, dim_out)

From the simplest to the most expressive:
- `Concat`       [x; y] -> MLP: each output is a sum of a function of x and a function of y (before the MLP).
- `Sum`          Wx x + Wy y: the same, linear.
- `Product`      tanh(Wx x) ⊙ tanh(Wy y): Antol et al., VQA (ICCV 2015) — multiplicative interaction.
- `Bilinear`     W · vec(x ⊗ y) + b: every product x_i y_j gets its own weight (dim_x · dim_y · dim_out of them).
- `TensorFusion` W · vec([x; 1] ⊗ [y; 1]): Zadeh et al., Tensor Fusion Network (EMNLP 2017) — the appended 1
                 keeps the unimodal terms x and y next to the bimodal x ⊗ y.
- `LowRankFusion` TensorFusion with W of rank r, never formed: Liu et al., LMF (ACL 2018).
- `MLB`          P (tanh(U x) ⊙ tanh(V y)): Kim et al., low-rank bilinear pooling (ICLR 2017).
"""
from __future__ import annotations

import torch
import torch.nn as nn


class Concat(nn.Module):
    """[x; y] -> Linear -> ReLU -> Linear. x (B, dim_x), y (B, dim_y) -> (B, dim_out)."""

    def __init__(self, dim_x: int, dim_y: int, dim_out: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or dim_out
        self.mlp = nn.Sequential(nn.Linear(dim_x + dim_y, hidden), nn.ReLU(), nn.Linear(hidden, dim_out))

    def forward(self, x, y):
        return self.mlp(torch.cat([x, y], dim=1))


class Sum(nn.Module):
    """Wx x + Wy y (each projection with its bias). x (B, dim_x), y (B, dim_y) -> (B, dim_out)."""

    def __init__(self, dim_x: int, dim_y: int, dim_out: int):
        super().__init__()
        self.proj_x, self.proj_y = nn.Linear(dim_x, dim_out), nn.Linear(dim_y, dim_out)

    def forward(self, x, y):
        return self.proj_x(x) + self.proj_y(y)


class Product(nn.Module):
    """tanh(Wx x) ⊙ tanh(Wy y), Antol et al.'s point-wise product. x (B, dim_x), y (B, dim_y) -> (B, dim_out)."""

    def __init__(self, dim_x: int, dim_y: int, dim_out: int):
        super().__init__()
        self.proj_x, self.proj_y = nn.Linear(dim_x, dim_out), nn.Linear(dim_y, dim_out)

    def forward(self, x, y):
        return torch.tanh(self.proj_x(x)) * torch.tanh(self.proj_y(y))


class Bilinear(nn.Module):
    """Full bilinear pooling: the outer product x ⊗ y (B, dim_x · dim_y), flattened, then Linear.
    x (B, dim_x), y (B, dim_y) -> (B, dim_out). Parameters grow as dim_x · dim_y · dim_out."""

    def __init__(self, dim_x: int, dim_y: int, dim_out: int):
        super().__init__()
        self.out = nn.Linear(dim_x * dim_y, dim_out)

    def forward(self, x, y):
        return self.out(torch.einsum("bi,bj->bij", x, y).flatten(1))


def append_one(x: torch.Tensor) -> torch.Tensor:
    """(B, d) -> (B, d + 1): [x; 1], so that an outer product keeps the unimodal terms."""
    return torch.cat([x, x.new_ones(len(x), 1)], dim=1)


class TensorFusion(nn.Module):
    """Tensor Fusion (Zadeh et al. 2017): z = vec([x; 1] ⊗ [y; 1]) (B, (dim_x+1)(dim_y+1)), which holds
    x, y, x ⊗ y and the constant 1, then Linear -> (B, dim_out). x (B, dim_x), y (B, dim_y)."""

    def __init__(self, dim_x: int, dim_y: int, dim_out: int):
        super().__init__()
        self.out = nn.Linear((dim_x + 1) * (dim_y + 1), dim_out)

    def forward(self, x, y):
        return self.out(torch.einsum("bi,bj->bij", append_one(x), append_one(y)).flatten(1))


class LowRankFusion(nn.Module):
    """Low-rank Multimodal Fusion (Liu et al. 2018): TensorFusion whose weight tensor W
    ((dim_x+1) x (dim_y+1) x dim_out) is a sum of `rank` outer products of per-modality factors:

        W = Σ_r  Fx[r] ⊗ Fy[r]          Fx (rank, dim_x+1, dim_out), Fy (rank, dim_y+1, dim_out)
        z = Σ_r  w_r · ([x; 1] Fx[r]) ⊙ ([y; 1] Fy[r])  + b

    so z is computed from two (B, rank, dim_out) projections without forming the tensor. The factors
    are registered parameters (a public implementation keeps them in a plain list, so they never
    train). x (B, dim_x), y (B, dim_y) -> (B, dim_out)."""

    def __init__(self, dim_x: int, dim_y: int, dim_out: int, rank: int = 4):
        super().__init__()
        self.factor_x = nn.Parameter(torch.empty(rank, dim_x + 1, dim_out))
        self.factor_y = nn.Parameter(torch.empty(rank, dim_y + 1, dim_out))
        self.rank_weights = nn.Parameter(torch.empty(rank))
        self.bias = nn.Parameter(torch.zeros(dim_out))
        for f in (self.factor_x, self.factor_y):
            nn.init.xavier_normal_(f)
        nn.init.constant_(self.rank_weights, 1.0 / rank)

    def forward(self, x, y):
        px = torch.einsum("bi,rio->bro", append_one(x), self.factor_x)     # (B, rank, dim_out)
        py = torch.einsum("bj,rjo->bro", append_one(y), self.factor_y)
        return torch.einsum("bro,r->bo", px * py, self.rank_weights) + self.bias

    def full_weight(self) -> torch.Tensor:
        """The tensor W ((dim_x+1), (dim_y+1), dim_out) the factors stand for (for tests and teaching)."""
        return torch.einsum("r,rio,rjo->ijo", self.rank_weights, self.factor_x, self.factor_y)


class MLB(nn.Module):
    """Multimodal low-rank bilinear pooling (Kim et al. 2017): P (tanh(U x) ⊙ tanh(V y)) + b, a bilinear
    map of rank `joint` (the Hadamard product's size). x (B, dim_x), y (B, dim_y) -> (B, dim_out)."""

    def __init__(self, dim_x: int, dim_y: int, dim_out: int, joint: int = 256):
        super().__init__()
        self.proj_x, self.proj_y = nn.Linear(dim_x, joint), nn.Linear(dim_y, joint)
        self.out = nn.Linear(joint, dim_out)

    def forward(self, x, y):
        return self.out(torch.tanh(self.proj_x(x)) * torch.tanh(self.proj_y(y)))


OPERATORS = {"concat": Concat, "sum": Sum, "product": Product, "bilinear": Bilinear,
             "tensor fusion": TensorFusion, "low-rank fusion": LowRankFusion, "MLB": MLB}
