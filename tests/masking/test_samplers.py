import pytest
import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.block import BlockSampler
from maskfuse.registry import SAMPLERS

RATIO_SAMPLERS = [n for n in SAMPLERS.names() if hasattr(SAMPLERS.get(n), "predicted")]


@pytest.mark.parametrize("name", RATIO_SAMPLERS)
@pytest.mark.parametrize("grid", [(7, 7), (4, 6), (16,)])
@pytest.mark.parametrize("ratio", [0.25, 0.6, 0.75])
def test_samplers_keep_the_exact_ratio(name, grid, ratio):
    sampler = SAMPLERS.get(name)(MaskConfig(ratio=ratio))
    n = 1
    for s in grid:
        n *= s
    scores = torch.rand(16, n)  # used by the data-driven samplers, ignored by the others
    plan = sampler(grid, 16, torch.Generator().manual_seed(1), scores=scores)
    expected = sampler.predicted(grid)
    if name != "tube":  # tube is exact per time slice: round(slice * ratio) * length
        assert expected == round(n * ratio)
    assert plan.pred_idx.shape == (16, expected)
    assert plan.keep_idx.shape == (16, n - expected)
    both = torch.cat([plan.keep_idx, plan.pred_idx], 1).sort(1).values
    assert torch.equal(both, torch.arange(n).expand(16, n))  # a partition of the tokens
    assert bool((plan.mask.sum(1) == expected).all())


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_samplers_are_seeded(name):
    sampler = SAMPLERS.get(name)(MaskConfig(ratio=0.5, guide_temperature=1.0))
    scores = torch.rand(4, 36)
    a = sampler((6, 6), 4, torch.Generator().manual_seed(3), scores=scores)
    b = sampler((6, 6), 4, torch.Generator().manual_seed(3), scores=scores)
    c = sampler((6, 6), 4, torch.Generator().manual_seed(4), scores=scores)
    assert torch.equal(a.pred_idx, b.pred_idx)
    assert not torch.equal(a.pred_idx, c.pred_idx)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1])
def test_bad_ratio_is_rejected(ratio):
    for name in RATIO_SAMPLERS:
        with pytest.raises(ValueError, match="mask.ratio"):
            SAMPLERS.get(name)(MaskConfig(ratio=ratio))


def _neighbour_share(mask: torch.Tensor, h: int, w: int) -> float:
    """Share of masked tokens whose right or lower neighbour is masked too."""
    m = mask.reshape(-1, h, w)
    right = (m[:, :, :-1] & m[:, :, 1:]).sum()
    down = (m[:, :-1, :] & m[:, 1:, :]).sum()
    return float((right + down) / m.sum())


def test_block_masks_are_clustered_compared_with_random():
    gen = torch.Generator().manual_seed(0)
    block = BlockSampler(MaskConfig(ratio=0.4))((14, 14), 64, gen).mask
    random = SAMPLERS.get("random")(MaskConfig(ratio=0.4))((14, 14), 64, gen).mask
    # random masking at 40 % puts a masked neighbour next to ~0.8 of tokens; blocks near 1.6
    assert _neighbour_share(block, 14, 14) > 1.3 * _neighbour_share(random, 14, 14)


def test_random_sampler_predicts_padding_never_shows_it():
    valid = torch.ones(4, 10, dtype=torch.bool)
    valid[:, 8:] = False
    plan = SAMPLERS.get("random")(MaskConfig(ratio=0.5))((10,), 4, valid=valid)
    assert bool((plan.keep_idx < 8).all())


@pytest.mark.parametrize("color,relation", [("red", "clustered"), ("green", "clustered"), ("blue", "dispersed")])
def test_noise_colours_have_their_spatial_statistics(color, relation):
    gen = torch.Generator().manual_seed(0)
    random = SAMPLERS.get("random")(MaskConfig(ratio=0.5))((14, 14), 128, gen).mask
    noise = SAMPLERS.get("noise")(MaskConfig(ratio=0.5, noise_color=color))((14, 14), 128, gen).mask
    # measured when written: random 0.92, red 1.59, green 1.20, purple 0.82, blue 0.74
    ratio = _neighbour_share(noise, 14, 14) / _neighbour_share(random, 14, 14)
    assert ratio > 1.2 if relation == "clustered" else ratio < 0.85


def test_noise_bank_is_reused_and_stable():
    a = SAMPLERS.get("noise")(MaskConfig(noise_bank=8))
    b = SAMPLERS.get("noise")(MaskConfig(noise_bank=8))
    assert torch.equal(a.bank((6, 6)), b.bank((6, 6)))  # a fixed property of the sampler, in any process
    assert a.bank((6, 6)) is a.bank((6, 6)) and a.bank((6, 6)).shape == (8, 6, 6)


def test_tube_repeats_one_mask_along_the_axis():
    plan = SAMPLERS.get("tube")(MaskConfig(ratio=0.5))((3, 4, 5), 6, torch.Generator().manual_seed(2))
    mask = plan.mask.view(6, 3, 4, 5)
    assert bool((mask == mask[:, :1]).all())  # every frame masks the same places
    assert bool((mask.sum((2, 3)) == 10).all())  # exactly half of each 4 x 5 frame
    series = SAMPLERS.get("tube")(MaskConfig(ratio=0.25, tube_axis=0))((4, 8), 3).mask.view(3, 4, 8)
    assert bool((series == series[:, :1]).all())  # (channel, time) grid: same times in every channel


def test_multiblock_context_and_targets():
    cfg = MaskConfig(sampler="multiblock")
    plan = SAMPLERS.get("multiblock")(cfg)((14, 14), 32, torch.Generator().manual_seed(0))
    keep, pred = plan.keep_idx, plan.pred_idx
    assert keep.shape[0] == pred.shape[0] == 32
    for k, p in zip(keep, pred):
        assert not set(k.tolist()) & set(p.tolist())  # the context never shows a target
    share = pred.shape[1] / 196
    # four blocks of 15-20 % each, overlapping: their union is a large share, as in I-JEPA
    assert 0.25 < share < 0.8, share
    assert keep.shape[1] >= 196 * 0.1
    spans = SAMPLERS.get("multiblock")(cfg)((20,), 4)  # 1-D grid: target spans
    assert spans.pred_idx.shape[1] >= 3


def test_multiblock_targets_are_blocks():
    plan = SAMPLERS.get("multiblock")(MaskConfig(num_targets=1))((14, 14), 16, torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(1)
    random = SAMPLERS.get("random")(MaskConfig(ratio=plan.ratio))((14, 14), 16, gen).mask
    assert _neighbour_share(plan.mask, 14, 14) > 1.3 * _neighbour_share(random, 14, 14)


def test_guided_masks_the_top_scores_or_samples_by_them():
    scores = torch.randn(6, 20)
    top = SAMPLERS.get("guided")(MaskConfig(ratio=0.25))((20,), 6, scores=scores)
    assert torch.equal(top.pred_idx, scores.topk(5, dim=1).indices.sort(1).values)
    warm = SAMPLERS.get("guided")(MaskConfig(ratio=0.25, guide_temperature=0.5))
    ramp = torch.linspace(0, 4, 20).expand(2000, 20)  # higher score, more often masked
    counts = warm((20,), 2000, torch.Generator().manual_seed(0), scores=ramp).mask.float().mean(0)
    assert counts[-1] > 0.9 and counts[0] < 0.02 and bool((counts.diff() > -0.03).all())
    with pytest.raises(ValueError, match="mask_scores"):
        warm((20,), 2)
    with pytest.raises(ValueError, match=r"\[2, 20\]"):
        warm((20,), 2, scores=torch.rand(2, 19))


def test_random_sampler_masks_the_ratio_of_each_rows_real_tokens():
    valid = torch.zeros(3, 40, dtype=torch.bool)
    for i, n in enumerate([40, 20, 10]):
        valid[i, :n] = True
    plan = SAMPLERS.get("random")(MaskConfig(ratio=0.5))((40,), 3, valid=valid)
    hidden_real = (plan.mask & valid).sum(1).tolist()
    assert hidden_real == [20, 10, 5]  # half of each row's real tokens, short rows included
    assert plan.keep_idx.shape[1] == 20  # the longest row's visible count; others pad with padding
    shown = torch.zeros_like(valid).scatter(1, plan.keep_idx, True)
    assert ((shown & valid).sum(1) == torch.tensor([20, 10, 5])).all()
