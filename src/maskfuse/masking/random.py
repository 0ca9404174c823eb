"""Uniform random masking: MAE's argsort-of-noise plan."""

from __future__ import annotations

import math

import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.ops import split_counts
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
        return split_counts(math.prod(grid), self.ratio)[1]

    def __call__(
        self,
        grid: tuple[int, ...],
        batch: int,
        generator: torch.Generator | None = None,
        valid: torch.Tensor | None = None,
        scores: torch.Tensor | None = None,  # unused: this sampler ignores the data
    ) -> MaskPlan:
        n = 1
        for s in grid:
            n *= s
        keep, _ = split_counts(n, self.ratio)
        noise = torch.rand(batch, n, generator=generator)  # [B, N]
        if valid is not None:
            noise = noise.masked_fill(~valid.cpu(), 2.0)
        perm = torch.argsort(noise, dim=1)
        keep_idx = perm[:, :keep].sort(dim=1).values
        pred_idx = perm[:, keep:].sort(dim=1).values
        return MaskPlan(keep_idx=keep_idx, pred_idx=pred_idx, num_tokens=n)
