"""The pretraining loop: a short list of named steps around `train_step`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from torch import nn

from maskfuse.build import build_method
from maskfuse.config import Config
from maskfuse.data import Splits, load_data
from maskfuse.data.paired import primary_splits
from maskfuse.errors import ConfigError, TrainingDiverged
from maskfuse.evaluate.monitor import OnlineMonitor
from maskfuse.train import checkpoint
from maskfuse.train.optim import build_optimizer
from maskfuse.train.progress import MetricsLog, TrainProgress
from maskfuse.train.schedule import lr_factor
from maskfuse.types import LossOutput


@dataclass
class BatchOrder:
    """Which rows make up the batch of each step: a fresh permutation per epoch, seeded
    by (seed, epoch), so any step's batch is known without replaying earlier ones."""

    rows: int
    batch_size: int
    seed: int

    def __post_init__(self) -> None:
        if self.batch_size > self.rows:
            raise ConfigError(f"train.batch_size={self.batch_size} exceeds the {self.rows} training rows")
        self.per_epoch = self.rows // self.batch_size
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 7919 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.rows, generator=g)
        return self._perm[i * self.batch_size : (i + 1) * self.batch_size]


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but no CUDA device is available")
    return torch.device(name)


def train_step(model: nn.Module, opt: torch.optim.Optimizer, batch: dict, step: int, cfg: Config) -> LossOutput:
    """One optimisation step; raises TrainingDiverged before a non-finite update lands."""
    for group in opt.param_groups:
        group["lr"] = cfg.train.lr * lr_factor(step, cfg.train)
    out = model(batch)
    if not torch.isfinite(out.loss):
        raise TrainingDiverged(f"loss is {out.loss.item()} at step {step + 1}")
    opt.zero_grad(set_to_none=True)
    out.loss.backward()
    if cfg.train.grad_clip is not None:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        if not torch.isfinite(norm):
            raise TrainingDiverged(f"gradient norm is {norm.item()} at step {step + 1}")
    opt.step()
    return out


def default_run_dir(cfg: Config) -> Path:
    return Path("runs") / f"{cfg.method}-{cfg.data.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_run_dir(cfg: Config, run_dir: Path, resume: bool) -> None:
    if resume:
        return
    if checkpoint.latest(run_dir) is not None:
        raise ConfigError(f"{run_dir} already holds a run; resume it with --resume or choose another run_dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint.write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def fit(cfg: Config, run_dir: Path, resume: bool = False, splits: Splits | None = None) -> Path:
    """Pretrain cfg.method into run_dir (continuing its latest checkpoint if `resume`)."""
    prepare_run_dir(cfg, run_dir, resume)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    splits = splits or load_data(cfg.data)
    device = pick_device(cfg.train.device)
    model = build_method(cfg, splits.spec).to(device)
    opt = build_optimizer(model, cfg.train)
    start = 0
    if resume:
        ckpt = checkpoint.latest(run_dir)
        if ckpt is None:
            raise ConfigError(f"{run_dir}: no checkpoint to resume from")
        start = checkpoint.load_training_state(ckpt, model, opt)
    order = BatchOrder(len(splits.train), cfg.train.batch_size, cfg.train.seed)
    stop = min(cfg.train.steps, cfg.train.stop_after or cfg.train.steps)
    log = MetricsLog(run_dir / "metrics.jsonl", resume_step=start, tensorboard=cfg.train.tensorboard)
    monitor = OnlineMonitor(primary_splits(splits), cfg.train.monitor_rows) if cfg.train.monitor_every > 0 else None
    watched = model.backbone.part(model.backbone.names[0]) if splits.spec.parts else model.backbone
    model.train()
    progress_hook = getattr(model, "set_progress", None)  # methods with a schedule of their own (HPM)
    save = lambda s: checkpoint.save(  # noqa: E731
        run_dir, s, model, opt, cfg.to_dict(), splits.spec.to_dict(), cfg.train.keep_checkpoints
    )
    title = f"{cfg.method} on {cfg.data.name}"
    completed = start  # steps whose update has landed
    try:
        with TrainProgress(cfg.train.steps, start, cfg.train.progress, title) as bar:
            for step in range(start, stop):
                torch.manual_seed(cfg.train.seed * 1_000_003 + step)  # the step's masks and views
                if progress_hook is not None:
                    progress_hook(step / max(cfg.train.steps - 1, 1))
                batch = {k: v.to(device, non_blocking=True) for k, v in splits.train.batch(order.indices(step)).items()}
                out = train_step(model, opt, batch, step, cfg)
                completed = done = step + 1
                rate = bar.samples_per_s(cfg.train.batch_size)
                loss = float(out.loss.detach())
                record = {"step": done, "loss": loss, "lr": opt.param_groups[0]["lr"], "samples_per_s": rate}
                monitored = monitor is not None and (done % cfg.train.monitor_every == 0 or done == stop)
                if monitored:
                    record.update(monitor(watched))
                    bar.monitor(record, done)
                bar.update(done, loss, rate)
                if monitored or done % cfg.train.log_every == 0 or done == stop:
                    log.write({**record, **out.logs, "elapsed_s": round(bar.elapsed(), 3)})
                if done % cfg.train.checkpoint_every == 0 or done == stop:
                    save(done)
    except TrainingDiverged as err:
        kept = checkpoint.latest(run_dir)
        where = f"the last good checkpoint is kept at {kept}" if kept else "no checkpoint had been written yet"
        raise TrainingDiverged(f"{err}; stopped, and {where}. Try a lower train.lr.") from None
    except KeyboardInterrupt:
        if completed > start:
            save(completed)  # so a Ctrl-C loses no finished step; resume continues here
        raise
    finally:
        log.close()
    return run_dir
