import math

import pytest
import torch

from maskfuse.objectives.bootstrap import BootstrapCosine


def test_bootstrap_loss_against_a_naive_loop():
    torch.manual_seed(0)
    p, z = torch.randn(6, 4, requires_grad=True), torch.randn(6, 4)
    out = BootstrapCosine()(p, z)
    total = 0.0
    for i in range(6):
        a = [float(v) for v in p[i]]
        b = [float(v) for v in z[i]]
        na, nb = math.sqrt(sum(v * v for v in a)), math.sqrt(sum(v * v for v in b))
        total += sum((x / na - y / nb) ** 2 for x, y in zip(a, b))
    assert float(out.loss) == pytest.approx(total / 6, rel=1e-5)
    out.loss.backward()
    assert p.grad is not None and z.grad is None  # the target takes no gradient


def test_a_prediction_on_its_target_costs_nothing_and_the_opposite_costs_four():
    z = torch.randn(5, 3)
    assert float(BootstrapCosine()(2.5 * z, z).loss) < 1e-6  # scale does not matter
    assert abs(float(BootstrapCosine()(-z, z).loss) - 4.0) < 1e-5
