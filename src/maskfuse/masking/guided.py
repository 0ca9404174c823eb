"""Guided masking: mask by an external per-token score."""

from __future__ import annotations

import math

import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.ops import masked_count, plan_from_priority, split_counts
from maskfuse.registry import SAMPLERS
from maskfuse.types import MaskPlan


@SAMPLERS.register("guided")
class GuidedSampler:
    """Masks chosen by scores the user supplies, one per token (Ask2Mask, Text-Guided
    Video MAE: saliency from a speech recogniser or from text).

    With mask.guide_temperature = 0 the round(N * ratio) highest-scored tokens are
    masked; with t > 0 they are drawn without replacement with probability
    proportional to exp(score / t) (Gumbel top-k), so low-scored tokens are sometimes
    masked too. Scores come in the batch as `mask_scores` [B, N] (an npz source reads
    them from its `mask_scores` array), or from any caller of the sampler.
    """

    needs_scores = True  # callers without per-token scores (the report's pictures) skip it

    def __init__(self, cfg: MaskConfig) -> None:
        self.ratio, self.temperature = cfg.ratio, cfg.guide_temperature
        split_counts(2, self.ratio)
        if self.temperature < 0:
            raise ValueError(f"mask.guide_temperature must be >= 0, got {self.temperature}")

    def predicted(self, grid: tuple[int, ...]) -> int:
        """How many tokens a plan over `grid` predicts."""
        return masked_count(grid, self.ratio)

    def __call__(
        self,
        grid: tuple[int, ...],
        batch: int,
        generator: torch.Generator | None = None,
        valid: torch.Tensor | None = None,
        scores: torch.Tensor | None = None,
    ) -> MaskPlan:
        n = math.prod(grid)
        keep, pred = split_counts(n, self.ratio)
        if scores is None:
            raise ValueError(
                "the guided sampler needs per-token scores: give the data a 'mask_scores' array [N, tokens]"
            )
        if tuple(scores.shape) != (batch, n):
            raise ValueError(f"mask_scores must be [batch, tokens] = [{batch}, {n}], got {list(scores.shape)}")
        priority = scores.detach().cpu().double()
        if self.temperature > 0:
            u = torch.rand(batch, n, generator=generator, dtype=torch.float64).clamp_min(1e-12)
            priority = priority / self.temperature - torch.log(-torch.log(u))  # Gumbel top-k
        if valid is not None:
            priority = priority.masked_fill(~valid.cpu(), float("inf"))  # padding is never shown
        return plan_from_priority(priority, pred)
