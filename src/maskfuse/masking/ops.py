"""Index arithmetic that applies a MaskPlan: gather visible tokens, put them back."""

from __future__ import annotations

import math

import torch

from maskfuse.types import MaskPlan, Tokens


def gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Pick tokens along dim 1: x [B, N, ...], idx [B, K] -> [B, K, ...]."""
    index = idx.reshape(*idx.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])
    return torch.gather(x, 1, index)


def restore(x_perm: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Undo `gather(x, perm)` for a full permutation perm [B, N] (MAE's ids_restore)."""
    return gather(x_perm, torch.argsort(perm, dim=1))


def merge(visible: torch.Tensor, plan: MaskPlan, fill: torch.Tensor) -> torch.Tensor:
    """Full sequence [B, N, D]: `visible` [B, K, D] at keep_idx, `fill` [D] at pred_idx."""
    b, _, d = visible.shape
    out = fill.to(visible.dtype).expand(b, plan.num_tokens, d).clone()
    index = plan.keep_idx.unsqueeze(-1).expand(-1, -1, d)
    return out.scatter(1, index, visible)


def split_counts(num_tokens: int, ratio: float) -> tuple[int, int]:
    """(kept, predicted) counts for a mask ratio; both at least one."""
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"mask.ratio must lie strictly between 0 and 1, got {ratio}")
    pred = min(max(round(num_tokens * ratio), 1), num_tokens - 1)
    if num_tokens < 2:
        raise ValueError(f"masking needs at least 2 tokens, got {num_tokens}")
    return num_tokens - pred, pred


def masked_count(grid: tuple[int, ...], ratio: float) -> int:
    """How many tokens of a `grid` a plan at `ratio` predicts."""
    return split_counts(math.prod(grid), ratio)[1]


def plan_from_priority(priority: torch.Tensor, pred: int) -> MaskPlan:
    """Predict the `pred` highest-priority tokens of each row [B, N]; show the rest."""
    order = torch.argsort(priority, dim=1, descending=True)
    return MaskPlan(order[:, pred:].sort(1).values, order[:, :pred].sort(1).values, priority.shape[1])


def plan_from_mask(mask: torch.Tensor) -> MaskPlan:
    """MaskPlan from a boolean mask [B, N] with the same count of True in every row."""
    counts = mask.sum(1)
    if not bool((counts == counts[0]).all()):
        raise ValueError("every row of a mask must predict the same number of tokens")
    order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)  # unmasked first, in order
    k = mask.shape[1] - int(counts[0])
    return MaskPlan(keep_idx=order[:, :k], pred_idx=order[:, k:], num_tokens=mask.shape[1])


def plan_tokens(sampler, tokens: Tokens, scores: torch.Tensor | None = None) -> MaskPlan:
    """The sampler's plan over a token bundle's grid, on the bundle's device."""
    plan = sampler(tokens.grid, tokens.x.shape[0], valid=tokens.valid, scores=scores)
    return plan.to(tokens.x.device)


def fill_masked(
    tokens: Tokens, mask: torch.Tensor, mask_token: torch.Tensor, random_share: float = 0.0, keep_share: float = 0.0
) -> torch.Tensor:
    """Embeddings with `mask_token` [D] in place of masked tokens, positions added: [B, N, D]
    (the encoder input of SimMIM-style methods).

    BERT's corruption (Devlin et al. 2019) with random_share = keep_share = 0.1: of the
    masked tokens, that share shows a random real token of the batch instead (drawn by
    frequency, where BERT draws uniformly from the vocabulary), and that share stays as
    it is; the rest show the mask token. All of them remain prediction targets.
    """
    x = tokens.x
    out = torch.where(mask.unsqueeze(-1), mask_token.to(x.dtype), x)
    if random_share > 0 or keep_share > 0:
        u = torch.rand(mask.shape, device=x.device)
        shown = mask & (u < random_share)
        kept = mask & (u >= random_share) & (u < random_share + keep_share)
        real = tokens.valid.reshape(-1).nonzero().squeeze(1)
        pick = real[torch.randint(len(real), mask.shape, device=x.device)]
        out = torch.where(shown.unsqueeze(-1), x.reshape(-1, x.shape[-1])[pick], out)
        out = torch.where(kept.unsqueeze(-1), x, out)
    return out + tokens.pos
