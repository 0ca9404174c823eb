"""The pretraining loop: a short list of named steps around `train_step`."""

from __future__ import annotations

import contextlib
import itertools
import time
from pathlib import Path

import torch
from torch import nn
from torch.distributed.tensor import DTensor

from maskfuse import checkpoint
from maskfuse.config import Config
from maskfuse.config_ranges import check_ranges
from maskfuse.data import Splits, resident
from maskfuse.data.paired import primary_splits
from maskfuse.distributed import (
    World,
    barrier,
    init_world,
    local_device,
    mean_over_ranks,
    text_from_main,
    wrap,
)
from maskfuse.errors import ConfigError, TrainingDiverged
from maskfuse.evaluate.monitor import OnlineMonitor
from maskfuse.methods.build import build_method, check_names
from maskfuse.nn.block import configure_blocks
from maskfuse.pretrained import weights_from_file
from maskfuse.train import budget
from maskfuse.train.batches import train_batches
from maskfuse.train.budget import BudgetSizing, budget_sizing, parse_budget
from maskfuse.train.divergence import DivergenceWatch
from maskfuse.train.environment import record_session
from maskfuse.train.optim import build_optimizer
from maskfuse.train.progress import MetricsLog, TrainProgress
from maskfuse.train.schedule import lr_factor
from maskfuse.train.setup import (
    NOTES,
    announce,
    announce_init,
    check_modality,
    fit_batch,
    fit_patches,
    held,
    prepare_run_dir,
    training_splits,
    write_config,
)
from maskfuse.train.sharded import FullModel, FullOptimizer, gathered, shard_model
from maskfuse.train.trackers import open_trackers, tracker_names
from maskfuse.types import LossOutput


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but no CUDA device is available")
    return torch.device(name)


def micro_batches(batch: dict, parts: int) -> list[dict]:
    """The batch cut into `parts` equal slices along the sample axis."""
    rows = len(next(iter(batch.values())))
    if parts < 1 or rows % parts:
        raise ConfigError(f"train.accumulate={parts} must divide the per-process batch of {rows} rows")
    return [{k: v.chunk(parts)[i] for k, v in batch.items()} for i in range(parts)]


def train_step(
    model: nn.Module, opt: torch.optim.Optimizer, batch: dict, step: int, cfg: Config, net: nn.Module | None = None
) -> LossOutput:
    """One optimisation step (over train.accumulate micro-batches, under train.precision
    autocast); raises TrainingDiverged before a non-finite update lands. `net` is the
    DDP wrapper of `model` when distributed."""
    net = net or model
    for group in opt.param_groups:
        group["lr"] = cfg.train.lr * lr_factor(step, cfg.train)
    opt.zero_grad(set_to_none=True)
    parts = micro_batches(batch, cfg.train.accumulate)
    device = next(model.parameters()).device.type
    total = 0.0
    for i, micro in enumerate(parts):
        sync = i == len(parts) - 1 or not hasattr(net, "no_sync")
        with contextlib.nullcontext() if sync else net.no_sync():
            with torch.autocast(device, torch.bfloat16, enabled=cfg.train.precision == "bf16"):
                out = net(micro)
            if not torch.isfinite(out.loss):
                raise TrainingDiverged(f"loss is {out.loss.item()} at step {step + 1}")
            (out.loss / len(parts)).backward()
        total = total + out.loss.detach() / len(parts)
    out = LossOutput(total, out.logs)
    if cfg.train.grad_clip is not None:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        norm = norm.full_tensor() if isinstance(norm, DTensor) else norm  # sharded (FSDP) gradients
        if not torch.isfinite(norm):
            raise TrainingDiverged(f"gradient norm is {norm.item()} at step {step + 1}")
    opt.step()
    return out


def step_seed(seed: int, step: int, rank: int) -> int:
    """The seed of the draws of one step (masks, views, noise) on one rank. Each rank has
    its own stream, so ranks do not repeat each other's masks and views on their different
    rows; rank 0's stream is the one a single process uses.

    torch's CPU generator keeps only the low 32 bits of a seed, so ranks differ there: the
    rank times an odd constant (a bijection mod 2^32) is XOR-ed in."""
    return (seed * 1_000_003 + step) ^ (rank * 0x9E3779B1)


def fix_steps(cfg: Config, steps: int, run_dir: Path, world: World, bar: TrainProgress) -> int:
    """Set train.steps from the budget (in the config file too, so a resume keeps the
    schedule); returns where this session stops."""
    cfg.train.steps = steps
    if world.main:
        write_config(cfg, run_dir)
    bar.resize(steps)
    return min(steps, cfg.train.stop_after or steps)


def fit(cfg: Config, run_dir: Path, resume: bool = False, splits: Splits | None = None, force: bool = False) -> Path:
    """Pretrain cfg.method into run_dir (continuing its latest checkpoint if `resume`);
    `force` writes a fresh run into a folder holding other files."""
    began = budget.clock()
    check_ranges(cfg)  # a config built in Python has not been through resolve's check
    device = pick_device(cfg.train.device)
    world = init_world(device)
    device = local_device(device, world)
    fsdp = cfg.train.fsdp
    if fsdp and world.size == 1:
        raise ConfigError("train.fsdp shards over several processes; start the run with torchrun --nproc-per-node N")
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    if cfg.train.budget is not None:
        parse_budget(cfg.train.budget)  # a bad budget fails before the data is read
    tracker_names(cfg.train)  # so does an unknown tracker or one whose package is missing
    check_names(cfg)  # and an unregistered method, sampler or loss
    splits = splits or training_splits(cfg, run_dir, resume, world, device)  # bad data fails before the run dir
    check_modality(cfg, splits.spec)
    notes = splits.notes + fit_batch(cfg, len(splits.train), world) + fit_patches(cfg, splits.spec)
    prepare_run_dir(cfg, run_dir, resume, world, force)
    with held(run_dir, world):  # one writer per run folder
        if world.main and (not resume or cfg.train.restart_step is not None):  # an extension re-plans it
            write_config(cfg, run_dir)
        announce(notes, run_dir, world)
        return run_steps(cfg, run_dir, resume, splits, world, device, began)


def run_steps(
    cfg: Config, run_dir: Path, resume: bool, splits: Splits, world: World, device: torch.device, began: float
) -> Path:
    """The model, its optimizer and the loop over steps, in a prepared run folder."""
    fsdp = cfg.train.fsdp
    # a resumed run's weights come from its checkpoint: its model.init is not read again
    model = build_method(weights_from_file(cfg) if resume else cfg, splits.spec).to(device)
    if world.main and not resume and hasattr(model.backbone, "init_rows"):
        announce_init(model.backbone.init_rows, cfg.model.init, run_dir)
    configure_blocks(model, cfg.train.checkpointing, cfg.train.compile)
    net = shard_model(model) if fsdp else wrap(model, world)
    opt = build_optimizer(model, cfg.train)
    # what checkpoints read and write: under FSDP, views that gather / scatter full tensors
    weights, optim = (FullModel(model), FullOptimizer(model, opt)) if fsdp else (model, opt)
    start = 0
    if resume:
        ckpt = checkpoint.latest(run_dir)
        if ckpt is None:
            raise ConfigError(f"{run_dir}: no checkpoint to resume from")
        start = checkpoint.load_training_state(ckpt, weights, optim)
        if cfg.train.stop_after is not None and start >= cfg.train.stop_after:
            if world.main:
                NOTES.print(f"note: train.stop_after={cfg.train.stop_after} was reached when the run stopped; it goes "
                            f"on towards train.steps={cfg.train.steps}", highlight=False)  # fmt: skip
            cfg.train.stop_after = None
    sizing = budget_sizing(cfg, resume, start, began)
    stop = min(cfg.train.steps, cfg.train.stop_after or cfg.train.steps)
    if world.main:
        record_session(run_dir, device, world.size, start)
    trackers = open_trackers(tracker_names(cfg.train), run_dir, cfg.to_dict(), start) if world.main else []
    log = MetricsLog(run_dir / "metrics.jsonl", resume_step=start, trackers=trackers, off=not world.main)
    watch = (world.main or fsdp) and cfg.train.monitor_every > 0  # sharded forwards need every rank
    rows = cfg.train.monitor_rows
    monitor = OnlineMonitor(primary_splits(resident(splits, rows, rows)), rows) if watch else None
    watched = model.backbone.part(model.backbone.names[0]) if splits.spec.parts else model.backbone
    model.train()
    progress_hook = getattr(model, "set_progress", None)  # methods with a schedule of their own (HPM)

    def save(s: int) -> None:  # the main rank writes; the others wait for it
        if world.main:
            spec, keep = splits.spec.to_dict(), cfg.train.keep_checkpoints
            checkpoint.save(run_dir, s, weights, optim, cfg.to_dict(), spec, keep)
        elif fsdp:  # gathering a sharded state takes every rank, in the order save reads it
            weights.state_dict(), optim.state_dict()
        barrier(world)

    def watch_due(done: int) -> bool:  # on the monitor period, at the end, and where a budget is sized
        every = cfg.train.monitor_every
        timed = sizing is not None and sizing.wants_monitor(done)
        return monitor is not None and ((every and done % every == 0) or done == stop or timed)

    def watch_now(record: dict, done: int) -> float:  # the online monitors; returns their seconds
        t0 = time.perf_counter()
        with gathered(model):
            record.update(monitor(watched))
        bar.monitor(record, done)
        return time.perf_counter() - t0

    def follow_budget(sizing: BudgetSizing, done: int, monitor_s: float, record: dict, stop: int):
        """(the sizing, or None once it is over; where this session stops), every rank
        following the main rank's clock."""
        decision = f"{sizing.steps(done, monitor_s)} {sizing.finished}"
        sized, finished = text_from_main(decision, world, device).split()
        if sized != "None":
            stop = fix_steps(cfg, int(sized), run_dir, world, bar)
            record["budget_steps"] = cfg.train.steps
        return (None if finished == "True" else sizing), stop

    title = f"{cfg.method} on {cfg.data.name}"
    diverging = DivergenceWatch()
    completed = start  # steps whose update has landed
    try:
        total = None if sizing else cfg.train.steps
        with TrainProgress(total, start, cfg.train.progress and world.main, title) as bar:
            batches = train_batches(splits.train, cfg, world, start, stop, device)
            for step, batch in zip(itertools.count(start), batches):
                if step >= stop:
                    break
                torch.manual_seed(step_seed(cfg.train.seed, step, world.rank))  # the step's masks and views
                if progress_hook is not None:
                    progress_hook(step / max(cfg.train.steps - 1, 1))
                out = train_step(model, opt, batch, step, cfg, net)
                completed = done = step + 1
                rate = bar.samples_per_s(cfg.train.batch_size)
                loss = float(mean_over_ranks(out.loss, world))
                record = {"step": done, "loss": loss, "lr": opt.param_groups[0]["lr"], "samples_per_s": rate}
                monitored = watch_due(done)
                monitor_s = watch_now(record, done) if monitored else 0.0
                if sizing is not None:
                    sizing, stop = follow_budget(sizing, done, monitor_s, record, stop)
                    if not monitored and watch_due(done):  # the budget ended the run at this step
                        watch_now(record, done)
                        monitored = True
                warning = diverging.check(done, loss)
                if warning:
                    record["warning"] = warning
                    if world.main:
                        NOTES.print(f"warning: {warning}", highlight=False)
                bar.update(done, loss, rate)
                told = record.keys() & {"budget_steps", "warning"}  # lines that say something once
                if monitored or done % cfg.train.log_every == 0 or done == stop or told:
                    log.write({**record, **out.logs, "elapsed_s": round(bar.elapsed(), 3)})
                if done % cfg.train.checkpoint_every == 0 or done == stop:
                    save(done)
    except TrainingDiverged as err:
        kept = checkpoint.latest(run_dir)
        lower = f"train.lr={cfg.train.lr / 3:.3g}"
        if kept:
            advice = f"the last good checkpoint is kept at {kept}. Try a lower rate: maskfuse pretrain --resume "
            advice += f"{run_dir} {lower}"
        else:  # nothing to resume: the run starts again in the same folder
            advice = f"no checkpoint had been written yet. Start it again with a lower rate ({lower})"
        raise TrainingDiverged(f"{err}; stopped, and {advice}") from None
    except KeyboardInterrupt:
        if completed > start:
            save(completed)  # so a Ctrl-C loses no finished step; resume continues here
        raise
    finally:
        log.close()
    return run_dir
