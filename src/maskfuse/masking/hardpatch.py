"""Hard-patch masking: mask the tokens a predictor expects to be hardest to reconstruct."""

from __future__ import annotations

import math

import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.ops import masked_count, plan_from_priority, split_counts
from maskfuse.registry import SAMPLERS
from maskfuse.types import MaskPlan


@SAMPLERS.register("hardpatch")
class HardPatchSampler:
    """HPM (Wang et al., "Hard Patches Mining for Masked Image Modeling", CVPR 2023).

    Of the round(N * ratio) masked tokens, round(that * hard_share) are the tokens with
    the highest `scores` (predicted reconstruction loss); the rest are drawn uniformly
    from the remaining tokens. `hard_share` follows the easy-to-hard schedule: linear
    from mask.hard_start at the first step to mask.hard_end at the last (`share_at`).
    Without scores (no predictor yet, or the report's picture) it masks at random.
    """

    def __init__(self, cfg: MaskConfig) -> None:
        self.ratio, self.start, self.end = cfg.ratio, cfg.hard_start, cfg.hard_end
        split_counts(2, self.ratio)
        for name, v in (("hard_start", self.start), ("hard_end", self.end)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"mask.{name} must lie in [0, 1], got {v}")

    def share_at(self, progress: float) -> float:
        """Share of hard tokens at training progress in [0, 1]."""
        return self.start + (self.end - self.start) * min(max(progress, 0.0), 1.0)

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
        hard_share: float = 0.0,
    ) -> MaskPlan:
        n = math.prod(grid)
        keep, pred = split_counts(n, self.ratio)
        hard = round(pred * hard_share) if scores is not None else 0
        priority = torch.rand(batch, n, generator=generator)  # random order in [0, 1)
        if hard:
            top = scores.detach().cpu().float().topk(hard, dim=1).indices
            priority = priority.scatter(1, top, 2.0)  # the hardest come first, above any random draw
        if valid is not None:
            priority = priority.masked_fill(~valid.cpu(), 3.0)  # padding is never shown
        return plan_from_priority(priority, pred)
