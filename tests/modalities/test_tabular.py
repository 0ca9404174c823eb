import math

import pytest
import torch

from maskfuse.config import AugmentConfig, ReconstructionConfig
from maskfuse.data.augment import TableViews
from maskfuse.modalities.tabular import FeatureTokenizer
from maskfuse.objectives.feature_reconstruction import FeatureReconstruction
from maskfuse.types import DataSpec

META = {
    "encoding": {"columns": ["a", "color", "b"], "kinds": ["numeric", "categorical", "numeric"],
                 "categories": {"color": ["blue", "green", "red"]}},
    "center": [10.0, 0.0, -1.0],
    "scale": [2.0, 1.0, 0.5],
}  # fmt: skip


def test_columns_become_tokens_with_scaling_categories_and_missing_tokens():
    tok = FeatureTokenizer(META, dim=8)
    rows = torch.tensor([[12.0, 2.0, -1.0], [float("nan"), 0.0, 0.0], [10.0, float("nan"), -2.0]])
    t = tok(rows)
    assert t.x.shape == (3, 3, 8) and t.grid == (3,) and bool(t.valid.all())
    assert torch.allclose(t.x[0, 0], 1.0 * tok.weight[0] + tok.bias[0])  # (12 - 10) / 2 = 1
    assert torch.allclose(t.x[0, 2], tok.bias[2])  # (-1 + 1) / 0.5 = 0
    assert torch.equal(t.x[0, 1], tok.categories.weight[2])  # 'red'
    assert torch.equal(t.x[1, 1], tok.categories.weight[0])  # 'blue'
    assert torch.equal(t.x[1, 0], tok.missing[0]) and torch.equal(t.x[2, 1], tok.missing[1])
    assert torch.allclose(t.target[..., 0], torch.tensor([[1.0, 2, 0], [math.nan, 0, 2], [0, math.nan, -2]]),
                          equal_nan=True)  # fmt: skip
    assert torch.allclose(tok.decode(t.target), rows, equal_nan=True)
    raw = tok.raw_features(rows)
    assert raw.shape == (3, 3 + 3 + 3)  # scaled values, missing flags, one-hot colours
    assert raw[2, 6:].sum() == 0 and raw[0, 6:].tolist() == [0, 0, 1]


def test_feature_reconstruction_matches_a_naive_loop():
    card = [0, 3, 0]
    obj = FeatureReconstruction(card)
    pred = torch.randn(4, 3, 3)
    target = torch.tensor([[0.5, 2, -1], [1.0, 0, math.nan], [math.nan, 1, 2], [0.1, math.nan, 0.3]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=torch.bool)
    out = obj(pred, target, mask)
    total, count = 0.0, 0
    for b in range(4):
        for f in range(3):
            if not mask[b, f] or math.isnan(float(target[b, f])):
                continue
            if card[f]:
                logits = pred[b, f, : card[f]]
                total += float(torch.logsumexp(logits, 0) - logits[int(target[b, f])])
            else:
                total += float((pred[b, f, 0] - target[b, f]) ** 2)
            count += 1
    assert math.isclose(float(out.loss), total / count, rel_tol=1e-5)
    assert "table_mse" in out.logs and "table_acc" in out.logs


def test_the_head_predicts_every_column_and_missing_cells_give_no_gradient():
    tok = FeatureTokenizer(META, dim=8)
    head = tok.target_head(8, ReconstructionConfig())
    rows = torch.tensor([[12.0, 2.0, float("nan")]])
    t = tok(rows)
    h = torch.randn(1, 3, 8, requires_grad=True)
    pred = head(h)
    assert pred.shape == (1, 3, 3)
    head.loss(pred, t, torch.ones(1, 3, dtype=torch.bool)).loss.backward()
    assert h.grad[0, 2].abs().sum() == 0 and h.grad[0, :2].abs().sum() > 0
    pics = tok.pictures(rows, torch.tensor([[True, False, False]]), pred.detach(), t)
    assert all(p.shape == (1, 3) for p in pics.values())


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_table_views_hide_a_share_of_columns(share):
    spec = DataSpec("table", (3,), (0.0,), (1.0,), meta=META)
    views = TableViews(AugmentConfig(feature_mask=share, noise_std=0.0), spec)
    rows = torch.randn(2000, 3)
    out = views(rows)
    hidden = torch.isnan(out).float().mean()
    assert abs(float(hidden) - share) < 0.03
    kept = ~torch.isnan(out)
    assert torch.equal(out[kept], rows[kept])
