import pytest
import torch

from maskfuse.data import load_data
from maskfuse.methods.build import build_method
from maskfuse.methods.data2vec import teacher_targets
from tests.conftest import small_config


@pytest.fixture(scope="module")
def setup():
    cfg = small_config("data2vec", k="teacher.top_k=2", m="teacher.momentum=0.5")
    splits = load_data(cfg.data)
    return cfg, splits


def test_targets_average_the_instance_normalised_top_blocks(setup):
    cfg, splits = setup
    model = build_method(cfg, splits.spec)
    x = splits.train.inputs[:4]
    states = model.teacher.forward_intermediates(x)
    expected = 0
    for s in states[-2:]:
        h = s.tokens  # [B, N, D]: normalise each channel over the tokens of each sample
        expected = expected + (h - h.mean(1, keepdim=True)) / (h.var(1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    got = teacher_targets(model.teacher, x, 2)
    assert torch.allclose(got, expected / 2, atol=1e-5)
    assert torch.allclose(got.mean(1), torch.zeros(4, got.shape[2]), atol=1e-5)


def test_teacher_follows_the_student_by_ema_and_gets_no_gradient(setup):
    cfg, splits = setup
    model = build_method(cfg, splits.spec)
    with torch.no_grad():
        model.backbone.encoder.trunk.norm.weight.fill_(3.0)
    before = model.teacher.encoder.trunk.norm.weight.clone()
    out = model(splits.train.batch(torch.arange(8)))
    out.loss.backward()
    after = model.teacher.encoder.trunk.norm.weight
    assert torch.allclose(after, 0.5 * before + 0.5 * 3.0)  # momentum 0.5
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.mask_token.grad is not None and torch.isfinite(out.loss)
