"""The allowed range of every number in the config, checked before anything is read or written.

A value out of its range (a batch of 0, a mask ratio of 1.5, a negative learning rate)
is a `ConfigError` naming the dotted key and the range, raised by `resolve` and again by
the training loop (for configs built in Python), before a run folder exists. Every
numeric field of the config dataclasses has an entry here; a test fails for a new field
without one.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

from maskfuse.errors import ConfigError


@dataclass(frozen=True)
class Range:
    """lo / hi bounds (None: unbounded), each open or closed."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def holds(self, v: float) -> bool:
        if isinstance(v, float) and not math.isfinite(v):
            return False
        above = self.lo is None or (v > self.lo if self.lo_open else v >= self.lo)
        below = self.hi is None or (v < self.hi if self.hi_open else v <= self.hi)
        return above and below

    def __str__(self) -> str:
        if self.hi is None:
            return f"{'>' if self.lo_open else '>='} {self.lo:g}"
        return f"{'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"


AT_LEAST_0, AT_LEAST_1, AT_LEAST_2 = Range(0), Range(1), Range(2)
POSITIVE = Range(0, lo_open=True)
SHARE = Range(0, 1)  # [0, 1]
OPEN_SHARE = Range(0, 1, lo_open=True, hi_open=True)  # (0, 1)
PART = Range(0, 1, lo_open=True)  # (0, 1]
BELOW_1 = Range(0, 1, hi_open=True)  # [0, 1)

RANGES: dict[str, Range] = {
    "data.max_length": AT_LEAST_1, "data.sample_rate": AT_LEAST_1, "data.max_seconds": POSITIVE,
    "data.vocab_size": Range(8), "data.image_size": AT_LEAST_1, "data.channels": AT_LEAST_1,
    "data.test_fraction": OPEN_SHARE, "data.split_seed": AT_LEAST_0, "data.max_train": AT_LEAST_1,
    "data.max_test": AT_LEAST_1, "data.memory_mb": AT_LEAST_0, "data.workers": AT_LEAST_0,
    "data.shuffle_buffer": AT_LEAST_1,
    "image.patch_size": AT_LEAST_1,
    "series.patch_len": AT_LEAST_1, "series.frame_scales": AT_LEAST_1,
    "model.dim": AT_LEAST_1, "model.depth": AT_LEAST_1, "model.heads": AT_LEAST_1, "model.mlp_ratio": POSITIVE,
    "decoder.dim": AT_LEAST_1, "decoder.depth": AT_LEAST_1, "decoder.heads": AT_LEAST_1,
    "mask.ratio": OPEN_SHARE, "mask.min_block": AT_LEAST_1, "mask.max_aspect": AT_LEAST_1,
    "mask.noise_bank": AT_LEAST_1, "mask.tube_axis": AT_LEAST_0, "mask.num_targets": AT_LEAST_1,
    "mask.target_scale": PART, "mask.target_aspect": POSITIVE, "mask.context_scale": PART,
    "mask.hard_start": SHARE, "mask.hard_end": SHARE, "mask.replace_random": SHARE, "mask.keep_original": SHARE,
    "mask.guide_temperature": AT_LEAST_0,
    "contrastive.views": AT_LEAST_2, "contrastive.temperature": POSITIVE, "contrastive.hard_beta": AT_LEAST_0,
    "contrastive.tau_rho": AT_LEAST_0, "contrastive.proj_hidden": AT_LEAST_1, "contrastive.proj_dim": AT_LEAST_1,
    "contrastive.queue_size": AT_LEAST_1, "contrastive.momentum": SHARE,
    "cluster.prototypes": AT_LEAST_2, "cluster.dim": AT_LEAST_1, "cluster.temperature": POSITIVE,
    "cluster.sinkhorn_eps": POSITIVE, "cluster.sinkhorn_iters": AT_LEAST_1,
    "teacher.top_k": AT_LEAST_1, "teacher.momentum": SHARE, "teacher.layers": AT_LEAST_0,
    "multimodal.proj_dim": AT_LEAST_1, "multimodal.temperature": POSITIVE, "multimodal.max_logit_scale": POSITIVE,
    "multimodal.tcl_weight": AT_LEAST_0, "multimodal.view_drop": BELOW_1, "multimodal.token_drop": BELOW_1,
    "multimodal.dirichlet_alpha": POSITIVE, "multimodal.joint_depth": AT_LEAST_1,
    "multimodal.contrastive_weight": AT_LEAST_0, "multimodal.reconstruction_weight": AT_LEAST_0,
    "augment.crop_scale": PART, "augment.brightness": SHARE, "augment.contrast": SHARE, "augment.saturation": SHARE,
    "augment.hue": Range(0, 0.5), "augment.jitter_prob": SHARE, "augment.grayscale_prob": SHARE,
    "augment.blur_prob": SHARE, "augment.noise_std": AT_LEAST_0, "augment.scale_std": AT_LEAST_0,
    "augment.shift": SHARE, "augment.feature_mask": BELOW_1, "augment.gain_db": AT_LEAST_0,
    "augment.time_masks": AT_LEAST_0, "augment.freq_masks": AT_LEAST_0,
    "train.steps": AT_LEAST_1, "train.budget": POSITIVE, "train.batch_size": AT_LEAST_1, "train.lr": POSITIVE,
    "train.min_lr_ratio": SHARE,
    "train.weight_decay": AT_LEAST_0, "train.betas": BELOW_1, "train.warmup_steps": AT_LEAST_0,
    "train.decay_fraction": PART, "train.grad_clip": POSITIVE, "train.seed": AT_LEAST_0,
    "train.checkpoint_every": AT_LEAST_1, "train.keep_checkpoints": AT_LEAST_1, "train.stop_after": AT_LEAST_1,
    "train.restart_step": AT_LEAST_0, "train.restart_from": SHARE,
    "train.log_every": AT_LEAST_1, "train.monitor_every": AT_LEAST_0, "train.monitor_rows": AT_LEAST_1,
    "train.threads": AT_LEAST_1, "train.accumulate": AT_LEAST_1,
    "eval.knn_k": AT_LEAST_1, "eval.knn_grid": AT_LEAST_1, "eval.knn_temperature": POSITIVE,
    "eval.probe_weight_decays": AT_LEAST_0, "eval.probe_last_n": AT_LEAST_1, "eval.kmeans_restarts": AT_LEAST_1,
    "eval.fewshot_shots": AT_LEAST_1, "eval.fewshot_episodes": AT_LEAST_1, "eval.finetune_epochs": AT_LEAST_1,
    "eval.finetune_lr": POSITIVE, "eval.diagnostics_rows": AT_LEAST_2, "eval.batch_size": AT_LEAST_1,
    "eval.stream_rows": AT_LEAST_1, "eval.seed": AT_LEAST_0,
}  # fmt: skip


def numeric_fields(cls: type, prefix: str = "") -> list[str]:
    """The dotted keys of every field holding numbers (alone, optional, or in a tuple)."""
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            keys += numeric_fields(hint, f"{prefix}{f.name}.")
        elif typing.get_origin(hint) is not typing.Literal and _holds_numbers(hint):
            keys.append(f"{prefix}{f.name}")
    return keys


def _holds_numbers(hint: Any) -> bool:
    if hint in (int, float):
        return True
    return any(_holds_numbers(a) for a in typing.get_args(hint) if a is not Ellipsis)


def check_ranges(cfg: Any) -> None:
    """Raise ConfigError for the first config value outside its range."""
    for key, allowed in RANGES.items():
        value: Any = cfg
        for part in key.split("."):
            value = getattr(value, part)
        for v in value if isinstance(value, tuple) else (value,):
            if v is not None and not isinstance(v, str) and not allowed.holds(v):
                raise ConfigError(f"{key}={value!r}: expected a value {allowed}")
    if cfg.mask.replace_random + cfg.mask.keep_original > 1:
        raise ConfigError("mask.replace_random + mask.keep_original must not exceed 1")
