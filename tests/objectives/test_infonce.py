import math

import pytest
import torch
import torch.nn.functional as F

from maskfuse.objectives.infonce import InfoNCE


def naive_ntxent(z1: torch.Tensor, z2: torch.Tensor, t: float) -> float:
    """NT-Xent written as the SimCLR paper's sum, one anchor at a time."""
    z = F.normalize(torch.cat([z1, z2]), dim=1).double()
    n = z.shape[0]
    b = n // 2
    total = 0.0
    for i in range(n):
        j = (i + b) % n
        denom = sum(math.exp(float(z[i] @ z[k]) / t) for k in range(n) if k != i)
        total += -math.log(math.exp(float(z[i] @ z[j]) / t) / denom)
    return total / n


@pytest.mark.parametrize("t", [0.07, 0.5, 1.0])
def test_matches_naive_loop(t):
    z1, z2 = torch.randn(6, 5), torch.randn(6, 5)
    out = InfoNCE(temperature=t)(z1, z2)
    assert out.loss.item() == pytest.approx(naive_ntxent(z1, z2, t), rel=1e-5)


def test_perfect_alignment_has_low_loss_and_top1():
    z = torch.eye(8) * 5
    out = InfoNCE(temperature=0.1)(z, z.clone())
    assert out.logs["pos_top1"] == 1.0
    assert out.loss.item() < 1e-3


def test_gradient_matches_naive_autograd():
    z1 = torch.randn(4, 3, requires_grad=True)
    z2 = torch.randn(4, 3)
    InfoNCE(0.2)(z1, z2).loss.backward()
    g = z1.grad.clone()
    z1.grad = None
    zz = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = zz @ zz.T / 0.2
    sim = sim - torch.eye(8) * 1e9
    target = torch.tensor([4, 5, 6, 7, 0, 1, 2, 3])
    F.cross_entropy(sim, target).backward()
    assert torch.allclose(g, z1.grad, atol=1e-6)


@pytest.mark.parametrize("t", [0.0, -1.0])
def test_temperature_is_validated(t):
    with pytest.raises(ValueError, match="temperature"):
        InfoNCE(temperature=t)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="equal shapes"):
        InfoNCE()(torch.randn(4, 3), torch.randn(5, 3))
