"""Sinkhorn-Knopp assignments and the swapped-prediction loss, against naive loops."""

import math

import pytest
import torch

from maskfuse.objectives.sinkhorn import SwappedAssignment, sinkhorn


def naive_sinkhorn(scores: list[list[float]], eps: float, iters: int) -> list[list[float]]:
    """SwAV's algorithm written out with Python lists: Q = exp(S / eps) [K x M], normalised,
    then rows (prototypes) to 1 / K and columns (items) to 1 / M in turn; returned x M as [M x K]."""
    m, k = len(scores), len(scores[0])
    q = [[math.exp(scores[i][j] / eps) for i in range(m)] for j in range(k)]
    total = sum(map(sum, q))
    q = [[v / total for v in row] for row in q]
    for _ in range(iters):
        q = [[v / sum(row) / k for v in row] for row in q]
        cols = [sum(q[j][i] for j in range(k)) for i in range(m)]
        q = [[q[j][i] / cols[i] / m for i in range(m)] for j in range(k)]
    return [[q[j][i] * m for j in range(k)] for i in range(m)]


def test_sinkhorn_matches_the_naive_loop_and_balances():
    torch.manual_seed(0)
    scores = torch.randn(10, 4, dtype=torch.float64)
    q = sinkhorn(scores, eps=0.5, iters=3)
    assert torch.allclose(q, torch.tensor(naive_sinkhorn(scores.tolist(), 0.5, 3), dtype=torch.float64), atol=1e-12)
    assert torch.allclose(q.sum(1), torch.ones(10, dtype=torch.float64))  # each item's assignment sums to 1
    many = sinkhorn(scores, eps=0.5, iters=50)
    assert torch.allclose(many.sum(0), torch.full((4,), 10 / 4, dtype=torch.float64), atol=1e-6)  # equal shares


def test_sinkhorn_spreads_identical_items_over_every_prototype():
    """Collapsed features (every item scores the same) still get an even split: the
    equal-share constraint is what keeps SwAV / SIGMA from collapsing."""
    scores = torch.tensor([[5.0, 0.0, 0.0]]).repeat(9, 1)
    q = sinkhorn(scores, eps=0.05, iters=3)
    assert torch.allclose(q.sum(0), torch.full((3,), 3.0), atol=1e-5)


def test_a_small_eps_with_large_scores_stays_finite():
    q = sinkhorn(torch.tensor([[80.0, -80.0], [-80.0, 80.0]]), eps=0.01, iters=3)
    assert torch.isfinite(q).all() and torch.allclose(q, torch.eye(2), atol=1e-6)


def test_swapped_loss_matches_a_naive_loop():
    torch.manual_seed(1)
    a, b = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    out = SwappedAssignment(temperature=0.2, eps=0.3, iters=3)(a, b)
    qa, qb = naive_sinkhorn(a.tolist(), 0.3, 3), naive_sinkhorn(b.tolist(), 0.3, 3)
    total = 0.0
    for i in range(6):
        for scores, q in ((a, qb), (b, qa)):  # a predicts b's assignment, b predicts a's
            logits = [float(s) / 0.2 for s in scores[i]]
            norm = math.log(sum(math.exp(v) for v in logits))
            total -= sum(q[i][j] * (logits[j] - norm) for j in range(3))
    assert out.loss.item() == pytest.approx(total / 12, rel=1e-9)
    assert 1.0 <= out.logs["prototypes_used"] <= 3.0


def test_the_assignment_carries_no_gradient():
    a = torch.randn(8, 4, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    SwappedAssignment()(a, b).loss.backward()
    # the loss is CE(target q, softmax): its gradient is softmax - q per view, so rows sum to 0
    assert torch.allclose(a.grad.sum(1), torch.zeros(8), atol=1e-6)


def test_the_monitors_show_collapsed_and_uniform_predictions():
    """Balanced assignments always use every prototype, so the monitors read the predictions:
    all items picking one prototype, and scores equal across prototypes (loss at ln K)."""
    loss = SwappedAssignment()
    one = torch.tensor([[3.0, 0.0, 0.0, 0.0]]).repeat(8, 1) + 0.01 * torch.randn(8, 4)
    assert loss(one, torch.randn(8, 4)).logs["prototypes_used"] == pytest.approx(1.0)
    flat = loss(torch.zeros(8, 4), torch.zeros(8, 4))
    assert flat.logs["confidence"] == pytest.approx(0.25) and flat.loss.item() == pytest.approx(math.log(4))
    spread = torch.eye(4).repeat(2, 1) * 5
    assert loss(spread, spread).logs["prototypes_used"] == pytest.approx(4.0)
