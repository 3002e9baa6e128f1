import pytest
import torch
import torch.nn.functional as F

from mmlearn import fusion
from mmlearn.train import fit

DX, DY, DOUT = 5, 7, 6


@pytest.fixture
def xy():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, DX, generator=g), torch.randn(8, DY, generator=g)


@pytest.mark.parametrize("name", list(fusion.OPERATORS))
def test_every_operator_has_one_signature_and_trains_every_parameter(name, xy):
    torch.manual_seed(0)
    op = fusion.OPERATORS[name](DX, DY, DOUT)
    x, y = xy
    z = op(x, y)
    assert z.shape == (8, DOUT)
    z.pow(2).sum().backward()
    params = dict(op.named_parameters())
    assert params, f"{name} registers no parameters"
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params.values()), \
        [n for n, p in params.items() if p.grad is None or p.grad.abs().sum() == 0]


@pytest.mark.parametrize("name", list(fusion.OPERATORS))
def test_every_operator_overfits_a_tiny_batch_of_xor_like_targets(name):
    # target depends on the *interaction* of x and y: the sign of x0 * y0 decides the class
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, DX, generator=g), torch.randn(32, DY, generator=g)
    labels = ((x[:, 0] * y[:, 0]) > 0).long()
    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"fuse": fusion.OPERATORS[name](DX, DY, 16), "classify": torch.nn.Linear(16, 2)})
    logits = lambda m, x, y: m["classify"](m["fuse"](x, y))   # noqa: E731 - fusion, then an answer classifier
    history = fit(model, lambda m, b: F.cross_entropy(logits(m, *b[:2]), b[2]), [(x, y, labels)], steps=400,
                  lr=1e-2, seed=0, progress=False)
    accuracy = (logits(model, x, y).argmax(1) == labels).float().mean().item()
    if name == "sum":   # additive in x and y, then linear: it cannot represent x0 * y0 (by construction)
        assert accuracy < 0.9
    else:
        assert accuracy == 1.0, f"{name}: {accuracy}"
        assert history.loss[-1] < 0.1 * history.loss[0]


def test_tensor_fusion_holds_unimodal_and_bimodal_terms():
    x, y = torch.tensor([[2.0, 3.0]]), torch.tensor([[5.0]])
    op = fusion.TensorFusion(2, 1, 1)
    z = torch.einsum("bi,bj->bij", fusion.append_one(x), fusion.append_one(y)).flatten(1)
    assert z.tolist() == [[10.0, 2.0, 15.0, 3.0, 5.0, 1.0]]     # x⊗y, x, y, 1 (row-major over [x;1] ⊗ [y;1])
    with torch.no_grad():
        assert torch.allclose(op(x, y), op.out(z))


def test_low_rank_fusion_equals_tensor_fusion_with_the_rebuilt_weight(xy):
    torch.manual_seed(0)
    lmf = fusion.LowRankFusion(DX, DY, DOUT, rank=3)
    tfn = fusion.TensorFusion(DX, DY, DOUT)
    with torch.no_grad():
        W = lmf.full_weight()                                    # (DX+1, DY+1, DOUT)
        tfn.out.weight.copy_(W.reshape(-1, DOUT).t())
        tfn.out.bias.copy_(lmf.bias)
    x, y = xy
    assert torch.allclose(lmf(x, y), tfn(x, y), atol=1e-5)
    # and rank 1 really is rank 1: the (DX+1) x (DY+1) slice of every output has rank 1
    one = fusion.LowRankFusion(DX, DY, DOUT, rank=1)
    assert torch.linalg.matrix_rank(one.full_weight()[..., 0]).item() == 1


def test_parameter_counts_show_why_low_rank_exists():
    count = lambda m: sum(p.numel() for p in m.parameters())   # noqa: E731
    assert count(fusion.Bilinear(64, 128, 100)) == 64 * 128 * 100 + 100
    assert count(fusion.TensorFusion(64, 128, 100)) == 65 * 129 * 100 + 100
    assert count(fusion.LowRankFusion(64, 128, 100, rank=4)) == 4 * (65 + 129) * 100 + 4 + 100
