import pytest
import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.block import BlockSampler
from maskfuse.registry import SAMPLERS


@pytest.mark.parametrize("name", SAMPLERS.names())
@pytest.mark.parametrize("grid", [(7, 7), (4, 6), (16,)])
@pytest.mark.parametrize("ratio", [0.25, 0.6, 0.75])
def test_samplers_keep_the_exact_ratio(name, grid, ratio):
    sampler = SAMPLERS.get(name)(MaskConfig(ratio=ratio))
    n = 1
    for s in grid:
        n *= s
    plan = sampler(grid, 16, torch.Generator().manual_seed(1))
    expected = round(n * ratio)
    assert plan.pred_idx.shape == (16, expected)
    assert plan.keep_idx.shape == (16, n - expected)
    both = torch.cat([plan.keep_idx, plan.pred_idx], 1).sort(1).values
    assert torch.equal(both, torch.arange(n).expand(16, n))  # a partition of the tokens
    assert bool((plan.mask.sum(1) == expected).all())


@pytest.mark.parametrize("name", SAMPLERS.names())
def test_samplers_are_seeded(name):
    sampler = SAMPLERS.get(name)(MaskConfig(ratio=0.5))
    a = sampler((6, 6), 4, torch.Generator().manual_seed(3))
    b = sampler((6, 6), 4, torch.Generator().manual_seed(3))
    c = sampler((6, 6), 4, torch.Generator().manual_seed(4))
    assert torch.equal(a.pred_idx, b.pred_idx)
    assert not torch.equal(a.pred_idx, c.pred_idx)


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.1])
def test_bad_ratio_is_rejected(ratio):
    for name in SAMPLERS.names():
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
