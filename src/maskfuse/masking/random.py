"""Uniform random masking: MAE's argsort-of-noise plan."""

from __future__ import annotations

import math

import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.ops import masked_count, plan_from_priority, split_counts
from maskfuse.registry import SAMPLERS
from maskfuse.types import MaskPlan


@SAMPLERS.register("random")
class RandomSampler:
    """Mask a fixed share of tokens chosen uniformly at random (He et al., 2022, MAE).

    With padding (valid False) the ratio applies to each row's real tokens, so a short
    text or clip is masked as much as a long one (BERT's 15 % of real words). Every row
    keeps the same number of tokens (a plan is index tensors): the most real visible
    tokens any row has; rows with fewer fill up with padding, which attention ignores.
    All other padding is predicted, and objectives never count it.
    """

    def __init__(self, cfg: MaskConfig) -> None:
        self.ratio = cfg.ratio
        split_counts(2, self.ratio)  # validates the ratio up front

    def predicted(self, grid: tuple[int, ...]) -> int:
        """How many tokens a plan over `grid` predicts."""
        return masked_count(grid, self.ratio)

    def __call__(
        self,
        grid: tuple[int, ...],
        batch: int,
        generator: torch.Generator | None = None,
        valid: torch.Tensor | None = None,
        scores: torch.Tensor | None = None,  # unused: this sampler ignores the data
    ) -> MaskPlan:
        n = math.prod(grid)
        noise = torch.rand(batch, n, generator=generator)  # [B, N]
        if valid is None or bool(valid.all()):
            return plan_from_priority(noise, self.predicted(grid))
        valid = valid.cpu()
        real = valid.sum(1)  # [B]
        hide = (real * self.ratio).round().long().clamp(min=1).minimum((real - 1).clamp_min(1))
        rank = torch.argsort(torch.argsort(noise.masked_fill(~valid, 2.0), dim=1), dim=1)  # 0 = first real draw
        chosen = valid & (rank < hide[:, None])
        priority = torch.where(chosen, 3.0 + noise, torch.where(valid, noise, 2.0 + noise))
        keep = int((real - hide).max())
        return plan_from_priority(priority, n - keep)
