"""SIGMA: masked tokens clustered against learned prototypes, predicted both ways."""

import torch

from maskfuse.config import resolve
from maskfuse.methods.build import build_method
from maskfuse.registry import MODALITIES


def clips():
    return MODALITIES.get("video").contract_example()


def test_sigma_trains_its_prototypes_and_keeps_them_unit():
    splits, settings = clips()
    cfg = resolve("video-sigma", ["model.size=nano", "cluster.prototypes=8", "cluster.dim=16", *settings])
    model = build_method(cfg, splits.spec)
    batch = splits.train.batch(torch.arange(16))
    out = model(batch)
    assert torch.allclose(model.prototypes.weight.norm(dim=1), torch.ones(8), atol=1e-6)
    assert out.loss.item() > 0 and 1.0 <= out.logs["prototypes_used"] <= 8.0
    out.loss.backward()
    assert model.prototypes.weight.grad.abs().sum() > 0 and model.project[0].weight.grad.abs().sum() > 0


def test_a_few_steps_lower_the_swapped_loss():
    torch.manual_seed(0)
    splits, settings = clips()
    cfg = resolve("video-sigma", ["model.size=nano", "cluster.prototypes=8", "cluster.dim=16", *settings])
    model = build_method(cfg, splits.spec)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    batch = splits.train.batch(torch.arange(32))
    losses = []
    for _ in range(25):
        torch.manual_seed(1)  # the same mask each step: only the model changes
        out = model(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert sum(losses[-5:]) / 5 < 0.9 * sum(losses[:5]) / 5
