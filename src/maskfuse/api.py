"""The Python API; it mirrors the command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import maskfuse.evaluate  # noqa: F401  (registers the protocols)
from maskfuse import checkpoint
from maskfuse.config import Config, resolve
from maskfuse.errors import ConfigError
from maskfuse.evaluate.suite import evaluate_run
from maskfuse.pretrained import Pretrained, from_pretrained, load
from maskfuse.train.budget import UNSIZED
from maskfuse.train.loop import fit
from maskfuse.train.schedule import lr_factor
from maskfuse.train.setup import default_run_dir
from maskfuse.train.trackers import log_evaluation

# Settings that may change when a run resumes; anything else would change its trajectory.
RESUMABLE_KEYS = (
    "train.tensorboard",
    "train.trackers",
    "train.progress",
    "train.threads",
    "train.device",
    "train.log_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.checkpointing",
    "train.compile",
    "train.fsdp",
    "data.workers",
    "train.stop_after",
    "train.lr",  # after a diverged loss: continue from the last good checkpoint with a lower rate
    "eval.",
)


def pretrain(config: Config | None = None, run_dir: str | Path | None = None, force: bool = False) -> Path:
    """Pretrain a fresh run; returns its directory. A folder holding files that are not a
    maskfuse run is refused unless `force`.

    Example:
        cfg = maskfuse.resolve("mae", ["train.steps=200"])
        run = maskfuse.pretrain(cfg)
    """
    cfg = config or Config()
    if not (run_dir or cfg.run_dir) and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("under torchrun every rank must name the same run directory: pass --out DIR")
    path = Path(run_dir or cfg.run_dir or default_run_dir(cfg))
    cfg.run_dir = str(path)
    return fit(cfg, path, force=force)


def resume(run_dir: str | Path, overrides: list[str] | None = None) -> Path:
    """Continue a run from its latest checkpoint: same data order, same schedule.

    `train.steps=N` with more steps than the run planned extends it (a finished run too):
    the schedule warms up again from where it was and decays to the new end
    (train/schedule.py); fewer steps than planned are refused.
    """
    path = Path(run_dir)
    ckpt = checkpoint.latest(path)
    if ckpt is None:
        raise ConfigError(f"{path}: no checkpoint to resume from")
    overrides = list(overrides or [])
    for text in overrides:
        if not text.startswith((*RESUMABLE_KEYS, "train.steps=")):
            raise ConfigError(f"'{text}' cannot change on resume; it would alter the run's trajectory")
    saved, _ = checkpoint.read_config(ckpt)
    cfg = resolve(base=saved, overrides=overrides)
    old = resolve(base=saved).train
    if cfg.train.steps != old.steps:
        extend(cfg, old, int(ckpt.name.split("-")[-1]))
    return fit(cfg, path, resume=True)


def extend(cfg: Config, old, at: int) -> None:
    """Re-plan the schedule of a run resumed at step `at` with more steps than `old` planned."""
    if old.budget is not None and old.steps == UNSIZED:
        raise ConfigError("train.steps cannot change before the run has sized its budget; resume it without")
    if cfg.train.steps <= max(old.steps, at):
        raise ConfigError(
            f"train.steps={cfg.train.steps}: the run is planned for {old.steps} steps and at step {at}; "
            "to extend it, give more steps"
        )
    cfg.train.restart_step, cfg.train.restart_from = at, lr_factor(at, old)
    cfg.train.budget = None  # the steps are given now
    if cfg.train.stop_after is not None and cfg.train.stop_after <= at:
        cfg.train.stop_after = None


def evaluate(
    run_dir: str | Path, protocols: tuple[str, ...] | None = None, compare: str | Path | None = None
) -> dict[str, Any]:
    """Run the evaluation protocols (default: the run's eval.protocols) on the run and its
    baselines; `compare` adds linear CKA and mutual k-NN against another run. Also
    written to run_dir/eval.json."""
    report = evaluate_run(Path(run_dir), protocols, Path(compare) if compare else None)
    saved, _ = checkpoint.read_config(checkpoint.latest(Path(run_dir)))  # the one evaluate_run scored
    cfg = resolve(base=saved)
    log_evaluation(Path(run_dir), cfg.train, cfg.to_dict(), report)  # to the run's trackers, if any
    return report


__all__ = ["Config", "Pretrained", "evaluate", "from_pretrained", "load", "pretrain", "resolve", "resume"]
