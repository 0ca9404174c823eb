import torch
import torch.nn.functional as F

from maskfuse.data import load_data
from maskfuse.methods.build import build_method
from tests.conftest import small_config


def test_targets_are_the_layer_normed_teacher_tokens_and_only_targets_count():
    cfg = small_config("ijepa", s="mask.sampler=multiblock", t="mask.num_targets=2")
    splits = load_data(cfg.data)
    model = build_method(cfg, splits.spec)
    x = splits.train.inputs[:4]
    tokens = model.teacher.forward_features(x).tokens
    assert torch.allclose(model.targets(x), F.layer_norm(tokens, tokens.shape[-1:]), atol=1e-6)
    batch = splits.train.batch(torch.arange(8))
    out = model(batch)
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert all(p.grad is None for p in model.teacher.parameters())  # targets carry no gradient
    assert model.project.weight.grad is not None and model.backbone.encoder.trunk.norm.weight.grad is not None
    pictures = model.pictures(batch)
    assert set(pictures) == {"input", "context", "targets"}
