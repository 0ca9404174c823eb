import json
import math

import pytest
import torch
import torch.nn.functional as F

import maskfuse
from maskfuse.config import MaskConfig
from maskfuse.data import load_data
from maskfuse.masking.hardpatch import HardPatchSampler
from maskfuse.methods.build import build_method
from maskfuse.objectives.loss_predictor import RelativeLossPrediction
from tests.conftest import small_config


def test_masked_set_follows_the_predictor_ranking():
    sampler = HardPatchSampler(MaskConfig(ratio=0.5))
    scores = torch.randn(8, 16)
    top = scores.topk(8, dim=1).indices.sort(1).values
    full = sampler((4, 4), 8, scores=scores, hard_share=1.0)
    assert torch.equal(full.pred_idx, top)  # all masked tokens are the 8 hardest
    half = sampler((4, 4), 8, scores=scores, hard_share=0.5)
    for row in range(8):
        hardest4 = set(scores[row].topk(4).indices.tolist())
        assert hardest4 <= set(half.pred_idx[row].tolist())  # the 4 hardest always masked
    assert sampler((4, 4), 8, scores=None, hard_share=1.0).pred_idx.shape == (8, 8)  # no scores: random


def test_schedule_moves_linearly_from_start_to_end():
    sampler = HardPatchSampler(MaskConfig(hard_start=0.1, hard_end=0.7))
    assert [round(sampler.share_at(p), 6) for p in (0.0, 0.5, 1.0, 2.0)] == [0.1, 0.4, 0.7, 0.7]


def test_training_logs_the_schedule_and_learns_to_rank(tmp_path):
    cfg = small_config("hpm", s="train.steps=30", m="mask.sampler=hardpatch", r="mask.ratio=0.5", l="train.log_every=1")
    run = maskfuse.pretrain(cfg, tmp_path / "run")
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    shares = [r["hard_share"] for r in records if "hard_share" in r]
    assert shares[0] == pytest.approx(0.0) and shares[-1] == pytest.approx(0.5)
    assert all(a <= b for a, b in zip(shares, shares[1:]))
    assert all(math.isfinite(r["loss_pred"]) for r in records if "loss_pred" in r)


def test_difficulty_scores_every_token():
    cfg = small_config("hpm")
    splits = load_data(cfg.data)
    model = build_method(cfg, splits.spec)
    tokens = model.backbone.tokenizer(splits.train.inputs[:4])
    assert model.difficulty(tokens).shape == (4, 16)
    model.set_progress(1.0)
    out = model(splits.train.batch(torch.arange(4)))
    assert torch.isfinite(out.loss) and out.logs["hard_share"] == 0.5


def test_relative_loss_matches_naive_pairs():
    scores, losses = torch.randn(2, 5), torch.rand(2, 5)
    losses[0, 1] = losses[0, 2]  # a tie: that pair does not count
    total, count = 0.0, 0
    for b in range(2):
        for i in range(5):
            for j in range(5):
                if losses[b, i] != losses[b, j]:
                    target = torch.tensor(float(losses[b, i] > losses[b, j]))
                    total += float(F.binary_cross_entropy_with_logits(scores[b, i] - scores[b, j], target))
                    count += 1
    out = RelativeLossPrediction()(scores, losses)
    assert out.loss.item() == pytest.approx(total / count, rel=1e-5)
    perfect = RelativeLossPrediction()(losses * 100, losses)
    assert perfect.logs["rank_acc"] == 1.0
