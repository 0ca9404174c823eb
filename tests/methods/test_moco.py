import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

import maskfuse
from maskfuse import checkpoint
from maskfuse.data import load_data
from maskfuse.methods.build import build_method
from maskfuse.nn.ema import ema_copy, ema_update
from maskfuse.objectives.queue_infonce import QueueInfoNCE
from tests.conftest import small_config


def test_queue_infonce_matches_naive_loop():
    q, k, queue = torch.randn(4, 3), torch.randn(4, 3), torch.randn(6, 3)
    qn, kn, un = F.normalize(q, dim=1), F.normalize(k, dim=1), F.normalize(queue, dim=1)
    total = 0.0
    for i in range(4):
        pos = math.exp(float(qn[i] @ kn[i]) / 0.2)
        neg = sum(math.exp(float(qn[i] @ un[j]) / 0.2) for j in range(6))
        total += -math.log(pos / (pos + neg))
    assert QueueInfoNCE(0.2)(q, k, queue).loss.item() == pytest.approx(total / 4, rel=1e-5)


def test_ema_update_moves_towards_the_source():
    src = torch.nn.Linear(3, 3)
    tgt = ema_copy(src)
    assert not any(p.requires_grad for p in tgt.parameters())
    with torch.no_grad():
        src.weight.add_(1.0)
    before = tgt.weight.clone()
    ema_update(tgt, src, 0.9)
    assert torch.allclose(tgt.weight, 0.9 * before + 0.1 * src.weight)


def test_moco_queue_is_a_ring_buffer_and_keys_follow_the_ema():
    cfg = small_config("moco", q="contrastive.queue_size=40", m="contrastive.momentum=0.5")
    splits = load_data(cfg.data)
    model = build_method(cfg, splits.spec)
    initial = model.queue.clone()
    model(splits.train.batch(torch.arange(8)))  # 16 keys in: slots 0-15
    assert int(model.queue_ptr) == 16
    assert torch.equal(model.queue[16:], initial[16:]) and not torch.equal(model.queue[:16], initial[:16])
    model(splits.train.batch(torch.arange(8, 16)))
    model(splits.train.batch(torch.arange(16, 24)))  # 48 keys: wraps around the 40 slots
    assert int(model.queue_ptr) == 8
    assert torch.allclose(model.queue.norm(dim=1), torch.ones(40), atol=1e-5)


def test_moco_resumes_exactly_with_its_queue(tmp_path):
    cfg = small_config("moco", q="contrastive.queue_size=64")
    straight = maskfuse.pretrain(cfg, tmp_path / "a")
    half = maskfuse.pretrain(
        small_config("moco", q="contrastive.queue_size=64", s="train.stop_after=10"), tmp_path / "b"
    )
    maskfuse.resume(half, ["train.stop_after=null"])

    a = load_file(str(checkpoint.latest(straight) / "model.safetensors"))
    b = load_file(str(checkpoint.latest(half) / "model.safetensors"))
    assert "queue" in a and all(torch.equal(a[k], b[k]) for k in a)
