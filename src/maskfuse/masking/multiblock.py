"""Multi-block masking: I-JEPA's context block and target blocks."""

from __future__ import annotations

import math

import numpy as np
import torch

from maskfuse.config import MaskConfig
from maskfuse.registry import SAMPLERS
from maskfuse.types import MaskPlan


def _block(rng: np.random.Generator, h: int, w: int, scale: tuple[float, float], aspect: tuple[float, float]):
    """A random rectangle (top, left, height, width) of area `scale` x grid and given aspect."""
    area = rng.uniform(*scale) * h * w
    ratio = rng.uniform(*aspect) if h > 1 else 1e9  # a 1-D grid gets spans
    bh = int(min(h, max(1, round(math.sqrt(area * ratio)))))
    bw = int(min(w, max(1, round(area / bh))))
    return int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1)), bh, bw


@SAMPLERS.register("multiblock")
class MultiBlockSampler:
    """I-JEPA (Assran et al., CVPR 2023): `num_targets` target blocks to predict, and one
    large context block, minus the targets, as the visible tokens.

    Tokens outside the context block are neither seen nor predicted. Block sizes vary,
    so, like I-JEPA's collator, every row is cut to the batch's smallest context and
    target counts (here by dropping random tokens, not the last ones in raster order).
    The plan holds the union of the targets; the `ijepa` method predicts them in one
    predictor pass.
    """

    max_axes = 2  # rectangles: a 1-D or 2-D token grid (build_method refuses more axes)

    def __init__(self, cfg: MaskConfig) -> None:
        self.num_targets = cfg.num_targets
        self.target_scale, self.target_aspect = cfg.target_scale, cfg.target_aspect
        self.context_scale = cfg.context_scale
        for name, (lo, hi) in (("target_scale", cfg.target_scale), ("context_scale", cfg.context_scale)):
            if not 0 < lo <= hi <= 1:
                raise ValueError(f"mask.{name} must satisfy 0 < low <= high <= 1, got {(lo, hi)}")
        if self.num_targets < 1:
            raise ValueError(f"mask.num_targets must be >= 1, got {self.num_targets}")

    def __call__(
        self,
        grid: tuple[int, ...],
        batch: int,
        generator: torch.Generator | None = None,
        valid: torch.Tensor | None = None,
        scores: torch.Tensor | None = None,  # unused: this sampler ignores the data
    ) -> MaskPlan:
        h, w = (1, grid[0]) if len(grid) == 1 else grid
        if len(grid) > 2:
            raise ValueError(f"multiblock sampler needs a 1-D or 2-D token grid, got {grid}")
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
        rows = [self._one(rng, h, w) for _ in range(batch)]
        k = min(int(c.sum()) for c, _ in rows)
        m = min(int(t.sum()) for _, t in rows)
        keep = [np.sort(rng.choice(np.flatnonzero(c), k, replace=False)) for c, _ in rows]
        pred = [np.sort(rng.choice(np.flatnonzero(t), m, replace=False)) for _, t in rows]
        return MaskPlan(torch.as_tensor(np.stack(keep)), torch.as_tensor(np.stack(pred)), h * w)

    def _one(self, rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        targets = np.zeros((h, w), dtype=bool)
        for _ in range(self.num_targets):
            top, left, bh, bw = _block(rng, h, w, self.target_scale, self.target_aspect)
            targets[top : top + bh, left : left + bw] = True
        context = np.zeros((h, w), dtype=bool)
        top, left, bh, bw = _block(rng, h, w, self.context_scale, (1.0, 1.0))
        context[top : top + bh, left : left + bw] = True
        context &= ~targets
        if not context.any():  # targets covered the context block: fall back to everything else
            context = ~targets
        if not context.any():  # targets covered the whole grid: keep one token visible
            flat = targets.reshape(-1)
            flat[rng.integers(0, flat.size)] = False
            context = ~targets
        return context.reshape(-1), targets.reshape(-1)
