import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.ops import gather, merge, plan_from_mask, restore
from maskfuse.masking.random import RandomSampler


def test_restore_inverts_gather():
    x = torch.randn(3, 10, 4)
    perm = torch.stack([torch.randperm(10) for _ in range(3)])
    shuffled = gather(x, perm)
    assert torch.equal(shuffled[1, 0], x[1, perm[1, 0]])
    assert torch.equal(restore(shuffled, perm), x)


def test_merge_puts_visible_back_and_fills_the_rest():
    x = torch.randn(2, 8, 5)
    plan = RandomSampler(MaskConfig(ratio=0.5))((8,), 2)
    fill = torch.full((5,), -7.0)
    full = merge(gather(x, plan.keep_idx), plan, fill)
    mask = plan.mask
    assert torch.equal(full[~mask], x[~mask])
    assert bool((full[mask] == -7.0).all())


def test_plan_from_mask_round_trip():
    mask = torch.tensor([[True, False, True, False], [False, False, True, True]])
    plan = plan_from_mask(mask)
    assert torch.equal(plan.mask, mask)
    assert plan.keep_idx.tolist() == [[1, 3], [0, 1]]
    assert plan.pred_idx.tolist() == [[0, 2], [2, 3]]
