"""Learning-rate schedules as pure functions of the step, so a resume needs no state."""

from __future__ import annotations

import math

from maskfuse.config import TrainConfig


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Multiplier of cfg.lr at `step` (0-based): linear warmup, then cosine or WSD.

    WSD is warmup-stable-decay ("Beyond Cosine Decay", Hägele et al., 2024): flat at the
    peak, then a linear decay over the last `decay_fraction` of the steps.
    """
    total, warm, floor = cfg.steps, cfg.warmup_steps, cfg.min_lr_ratio
    if warm > 0 and step < warm:
        return (step + 1) / warm
    if cfg.schedule == "cosine":
        span = max(total - warm, 1)
        progress = min((step - warm) / span, 1.0)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    decay = max(int(round(total * cfg.decay_fraction)), 1)
    start = total - decay
    if step < start:
        return 1.0
    progress = min((step - start) / decay, 1.0)
    return 1.0 - (1.0 - floor) * progress
