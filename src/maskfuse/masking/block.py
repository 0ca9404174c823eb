"""Blockwise masking: rectangles of tokens, as in BEiT."""

from __future__ import annotations

import math

import numpy as np
import torch

from maskfuse.config import MaskConfig
from maskfuse.masking.ops import masked_count, plan_from_mask, split_counts
from maskfuse.registry import SAMPLERS
from maskfuse.types import MaskPlan


@SAMPLERS.register("block")
class BlockSampler:
    """Mask rectangles of random area and aspect until the requested share is reached.

    Follows BEiT (Bao et al., 2022, Algorithm 1): each block has an area drawn between
    `min_block` and what is still missing, and a log-uniform aspect ratio. Unlike BEiT,
    the count is made exact: a remainder smaller than one block is masked as tokens
    adjacent to the blocks already placed, so every sample predicts the same number of
    tokens (which batching the plans as index tensors needs). A 1-D grid gets spans.
    """

    max_axes = 2  # rectangles: a 1-D or 2-D token grid (build_method refuses more axes)

    def __init__(self, cfg: MaskConfig) -> None:
        self.ratio = cfg.ratio
        self.min_block = max(1, cfg.min_block)
        self.log_aspect = (-math.log(cfg.max_aspect), math.log(cfg.max_aspect))
        split_counts(2, self.ratio)

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
        if len(grid) == 1:
            grid = (1, grid[0])
        if len(grid) != 2:
            raise ValueError(f"block sampler needs a 1-D or 2-D token grid, got {grid}")
        h, w = grid
        _, pred = split_counts(h * w, self.ratio)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rng = np.random.default_rng(seed)
        masks = np.stack([self._one(rng, h, w, pred) for _ in range(batch)])
        return plan_from_mask(torch.from_numpy(masks).reshape(batch, h * w))

    def _one(self, rng: np.random.Generator, h: int, w: int, target: int) -> np.ndarray:
        mask = np.zeros((h, w), dtype=bool)
        count, stalls = 0, 0
        while count < target and stalls < 10:
            missing = target - count
            if missing < self.min_block:
                break
            area = rng.uniform(self.min_block, missing)
            aspect = math.exp(rng.uniform(*self.log_aspect)) if h > 1 else 1e9
            bh = min(h, max(1, round(math.sqrt(area * aspect))))
            bw = min(w, max(1, round(area / bh)))
            top, left = rng.integers(0, h - bh + 1), rng.integers(0, w - bw + 1)
            window = mask[top : top + bh, left : left + bw]
            added = int((~window).sum())
            if 0 < added <= missing:
                window[:] = True
                count += added
                stalls = 0
            else:
                stalls += 1
        while count < target:  # exact count: grow the blocks by neighbouring tokens
            count += self._grow(rng, mask, target - count)
        return mask.reshape(-1)

    @staticmethod
    def _grow(rng: np.random.Generator, mask: np.ndarray, missing: int) -> int:
        near = np.zeros_like(mask)
        near[1:] |= mask[:-1]
        near[:-1] |= mask[1:]
        near[:, 1:] |= mask[:, :-1]
        near[:, :-1] |= mask[:, 1:]
        candidates = np.flatnonzero(near & ~mask)
        if candidates.size == 0:
            candidates = np.flatnonzero(~mask)
        chosen = rng.choice(candidates, size=min(missing, candidates.size), replace=False)
        mask.reshape(-1)[chosen] = True
        return len(chosen)
