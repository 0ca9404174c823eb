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

    Padding tokens (valid False) are always placed among the predicted ones, so the
    encoder never sees them; objectives ignore them through `valid`.
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
        noise = torch.rand(batch, math.prod(grid), generator=generator)  # [B, N]
        if valid is not None:
            noise = noise.masked_fill(~valid.cpu(), 2.0)  # above any draw: always predicted
        return plan_from_priority(noise, self.predicted(grid))
