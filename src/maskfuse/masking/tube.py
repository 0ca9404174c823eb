"""Tube masking: one mask, repeated along an axis (time for video, channels' shared time)."""

from __future__ import annotations

import math

import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.ops import plan_from_mask, split_counts
from maskfuse.registry import SAMPLERS
from maskfuse.types import MaskPlan


@SAMPLERS.register("tube")
class TubeSampler:
    """VideoMAE's tube masking (Tong et al., NeurIPS 2022): draw a random mask over the
    grid without `tube_axis` and repeat it along that axis, so a masked patch cannot be
    copied from a neighbouring frame (or, for multichannel series with tokens on a
    (channel, time) grid and tube_axis = 0, from another channel at the same time).

    The ratio is exact per slice, so the total is round(slice * ratio) * tube length.
    A 1-D grid has nothing to repeat along and gets plain random masking.
    """

    def __init__(self, cfg: MaskConfig) -> None:
        self.ratio, self.axis = cfg.ratio, cfg.tube_axis
        split_counts(2, self.ratio)

    def _layout(self, grid: tuple[int, ...]) -> tuple[tuple[int, ...], int, tuple[int, ...], int]:
        """(grid, tube axis, slice shape, predicted tokens per slice)."""
        grid = tuple(grid)
        grid, axis = ((1, *grid), 0) if len(grid) == 1 else (grid, self.axis % len(grid))
        slice_shape = grid[:axis] + grid[axis + 1 :]
        return grid, axis, slice_shape, split_counts(math.prod(slice_shape), self.ratio)[1]

    def predicted(self, grid: tuple[int, ...]) -> int:
        """How many tokens a plan over `grid` predicts."""
        full, axis, _, per_slice = self._layout(grid)
        return per_slice * full[axis]

    def __call__(
        self,
        grid: tuple[int, ...],
        batch: int,
        generator: torch.Generator | None = None,
        valid: torch.Tensor | None = None,
        scores: torch.Tensor | None = None,  # unused: this sampler ignores the data
    ) -> MaskPlan:
        grid, axis, slice_shape, pred = self._layout(grid)
        n_slice = math.prod(slice_shape)
        noise = torch.rand(batch, n_slice, generator=generator)
        ranks = noise.argsort(1).argsort(1)  # rank of each slice token
        slice_mask = (ranks >= n_slice - pred).view(batch, *slice_shape)  # [B, *slice]
        return plan_from_mask(slice_mask.unsqueeze(axis + 1).expand(batch, *grid).reshape(batch, -1))
