"""Uni4Eye: a volume and a slice of it through one shared trunk."""

import pytest
import torch

from maskfuse.config import resolve
from maskfuse.methods.build import build_method
from maskfuse.methods.uni4eye import random_slices
from maskfuse.registry import MODALITIES


def test_random_slices_are_whole_depth_slices():
    x = torch.arange(5.0).view(1, 1, 5, 1, 1).expand(8, 2, 5, 3, 4).clone()  # value = depth index
    s = random_slices(x)
    assert s.shape == (8, 2, 3, 4)
    for row in s:
        assert (row == row[0, 0, 0]).all() and 0 <= row[0, 0, 0] <= 4


def model_and_batch():
    splits, settings = MODALITIES.get("volume").contract_example()
    model = build_method(resolve("volume-uni4eye", ["model.size=nano", *settings]), splits.spec)
    return model, splits.train.batch(torch.arange(16))


def test_both_paths_share_the_trunk_and_average_their_losses():
    torch.manual_seed(0)
    model, batch = model_and_batch()
    assert len(model.slices.grid) == 2 and model.slices.patch == model.backbone.tokenizer.patch[1:]
    out = model(batch)
    assert out.loss.item() == pytest.approx((out.logs["volume_loss"] + out.logs["slice_loss"]) / 2, rel=1e-6)
    model.zero_grad()
    torch.manual_seed(0)
    tokens, plan, pred = model.reconstruct("slice", model.slices, random_slices(batch["volume"]))
    model.heads["slice"].loss(pred, tokens, plan.mask).loss.backward()  # the 2-D path alone
    trunk = [p.grad for p in model.backbone.encoder.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in trunk[:2])  # reaches the shared trunk
    assert all(p.grad is None for p in model.backbone.tokenizer.parameters())  # not the 3-D embedding
    assert all(p.grad is None for p in model.decoders["volume"].parameters())
