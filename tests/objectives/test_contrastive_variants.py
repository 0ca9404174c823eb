"""Each contrastive variant against a naive loop written from its paper's formula."""

import math

import pytest
import torch
import torch.nn.functional as F

from maskfuse.objectives.dcl import DecoupledContrastive
from maskfuse.objectives.hard_negatives import HardNegativeInfoNCE
from maskfuse.objectives.infonce import InfoNCE
from maskfuse.objectives.tau import IndividualTemperature


def _anchors(views):
    """(anchor vector, [positive vectors], [negative vectors]) for every view of every sample."""
    zs = [F.normalize(v, dim=1).double() for v in views]
    b = zs[0].shape[0]
    out = []
    for v, z in enumerate(zs):
        for i in range(b):
            pos = [zs[u][i] for u in range(len(zs)) if u != v]
            neg = [zs[u][j] for u in range(len(zs)) for j in range(b) if j != i]
            out.append((z[i], pos, neg))
    return out


def naive_multiview(views, t):
    total = 0.0
    for a, pos, neg in _anchors(views):
        denom = sum(math.exp(float(a @ k) / t) for k in pos + neg)
        total += sum(-math.log(math.exp(float(a @ p) / t) / denom) for p in pos) / len(pos)
    return total / len(_anchors(views))


def naive_dcl(views, t):
    total = 0.0
    for a, pos, neg in _anchors(views):
        lneg = math.log(sum(math.exp(float(a @ k) / t) for k in neg))
        total += sum(-float(a @ p) / t + lneg for p in pos) / len(pos)
    return total / len(_anchors(views))


def naive_hcl(views, t, beta):
    total = 0.0
    for a, pos, neg in _anchors(views):
        raw = [math.exp(beta * float(a @ k)) for k in neg]
        w = [len(neg) * r / sum(raw) for r in raw]
        ng = sum(wi * math.exp(float(a @ k) / t) for wi, k in zip(w, neg))
        total += sum(-math.log(math.exp(float(a @ p) / t) / (math.exp(float(a @ p) / t) + ng)) for p in pos) / len(pos)
    return total / len(_anchors(views))


def naive_tau(views, temps, rho):
    total, k = 0.0, 0
    for (a, pos, neg), t in zip(_anchors(views), temps):
        others = pos + neg
        terms = []
        for p in pos:
            mean = sum(math.exp((float(a @ j) - float(a @ p)) / t) for j in others) / len(others)
            terms.append(t * math.log(mean))
        total += sum(terms) / len(terms) + rho * t
        k += 1
    return total / k


def _views(n, b=5, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, d, generator=g) for _ in range(n)]


@pytest.mark.parametrize("n_views", [2, 3, 4])
def test_multiview_infonce_matches_naive(n_views):
    views = _views(n_views)
    assert InfoNCE(0.3)(*views).loss.item() == pytest.approx(naive_multiview(views, 0.3), rel=1e-5)


@pytest.mark.parametrize("n_views", [2, 3])
def test_dcl_matches_naive(n_views):
    views = _views(n_views, seed=1)
    assert DecoupledContrastive(0.2)(*views).loss.item() == pytest.approx(naive_dcl(views, 0.2), rel=1e-5)


@pytest.mark.parametrize("beta", [0.0, 0.5, 3.0])
def test_hard_negatives_match_naive_and_reduce_to_infonce(beta):
    views = _views(2, seed=2)
    got = HardNegativeInfoNCE(0.25, beta)(*views).loss.item()
    assert got == pytest.approx(naive_hcl(views, 0.25, beta), rel=1e-5)
    if beta == 0.0:
        assert got == pytest.approx(InfoNCE(0.25)(*views).loss.item(), rel=1e-6)


def test_hard_negatives_weigh_hard_ones_more():
    views = _views(2, seed=3)
    easy, hard = HardNegativeInfoNCE(0.25, 0.0)(*views).loss, HardNegativeInfoNCE(0.25, 5.0)(*views).loss
    assert hard > easy  # up-weighting the most similar negatives raises the loss


def test_tau_matches_naive_and_learns_temperatures():
    views = _views(2, seed=4)
    obj = IndividualTemperature(dim=4, rho=0.1)
    with torch.no_grad():
        obj.head.weight.normal_()
    temps = obj.temperatures(torch.cat(views)).tolist()
    assert len(set(round(t, 6) for t in temps)) > 1 and all(0.05 <= t <= 1.0 for t in temps)
    out = obj(*views)
    assert out.loss.item() == pytest.approx(naive_tau(views, temps, 0.1), rel=1e-5)
    out.loss.backward()
    assert obj.head.weight.grad.abs().sum() > 0  # the temperatures are learned


@pytest.mark.parametrize("cls", [DecoupledContrastive, HardNegativeInfoNCE])
def test_bad_temperature(cls):
    with pytest.raises(ValueError, match="temperature"):
        cls(temperature=0.0)
