"""Learning-rate schedules as pure functions of the step, so a resume needs no state."""

from __future__ import annotations

import math

from maskfuse.config import TrainConfig


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Multiplier of cfg.lr at `step` (0-based): linear warmup, then cosine or WSD.

    WSD is warmup-stable-decay ("Beyond Cosine Decay", Hägele et al., 2024): flat at the
    peak, then a linear decay over the last `decay_fraction` of the steps.

    A run extended past its planned steps (train.restart_step set) ran its old schedule
    before that step (its rates are in metrics.jsonl; a resume never asks for them again);
    from it, the schedule starts again over the steps left: a linear
    warm-up from where the old schedule was (train.restart_from) back to the peak, then the
    same decay to the floor at the new train.steps (a warm restart, as in SGDR).
    """
    if cfg.restart_step is not None and step >= cfg.restart_step:
        local, total = step - cfg.restart_step, cfg.steps - cfg.restart_step
        warm = min(cfg.warmup_steps, total)
        if warm > 0 and local < warm:
            return cfg.restart_from + (1.0 - cfg.restart_from) * (local + 1) / warm
        return _after_warmup(local, total, warm, cfg)
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    return _after_warmup(step, cfg.steps, cfg.warmup_steps, cfg)


def _after_warmup(step: int, total: int, warm: int, cfg: TrainConfig) -> float:
    """The factor at `step` of a schedule of `total` steps whose first `warm` warm up."""
    floor = cfg.min_lr_ratio
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
