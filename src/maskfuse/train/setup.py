"""Setting a run up: its folder and config file, its data, and the checks and notes that
come before the first step (the loop itself is `train.loop`)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import yaml
from rich.console import Console
from rich.markup import escape

from maskfuse import checkpoint
from maskfuse.config import Config
from maskfuse.data import Splits, load_data
from maskfuse.distributed import World, text_from_main
from maskfuse.errors import ConfigError
from maskfuse.modalities.image import auto_patch
from maskfuse.types import DataSpec

NOTES = Console(stderr=True)  # where the data notes of a run are printed
LOCK_FILE = ".lock"  # held by the process writing a run


def default_run_dir(cfg: Config) -> Path:
    return Path("runs") / f"{cfg.method}-{cfg.data.name}-{time.strftime('%Y%m%d-%H%M%S')}"


WRITTEN = (
    "config.yaml",
    "metrics.jsonl",
    "data_notes.json",
    "environment.json",
    "checkpoints",
    "eval.json",
    "report",
    "tensorboard",
    "trackers.json",  # the ids of the W&B / MLflow runs a resume continues
    "init.json",  # where the encoder's weights came from (model.init)
    "metrics.csv",
    "eval.csv",
    "wandb",
)
RUN_FILES = frozenset({*WRITTEN, LOCK_FILE, *(f".{name}.tmp" for name in WRITTEN)})  # what a run folder may hold


def prepare_run_dir(cfg: Config, run_dir: Path, resume: bool, world: World, force: bool = False) -> None:
    """Make the run folder of a fresh run and write its config. A folder that holds a run
    is refused (resume it instead), and so is a non-empty folder holding files a run does
    not write, unless `force`: its config.yaml and metrics.jsonl would be overwritten."""
    if resume or not world.main:
        return
    if checkpoint.latest(run_dir) is not None:
        raise ConfigError(f"{run_dir} already holds a run; resume it with --resume or choose another run_dir")
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {run_dir}: is a file, not a folder")
    foreign = sorted(p.name for p in run_dir.iterdir() if p.name not in RUN_FILES) if run_dir.is_dir() else []
    if foreign and not force:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise ConfigError(
            f"--out {run_dir}: the folder holds files that are not a maskfuse run ({shown}); choose a new or "
            "empty folder, or pass --force to write the run there anyway"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"--out {run_dir}: cannot make the run folder ({err.strerror})") from err


@contextlib.contextmanager
def held(run_dir: Path, world: World) -> Iterator[None]:
    """The main rank holds an exclusive lock on run_dir/.lock while it writes the run, so a
    second `pretrain` into the same folder (a typo, two terminals) is refused instead of
    mixing both runs' config, checkpoints and metrics. The lock goes with the process."""
    if not world.main:
        yield
        return
    path = run_dir / LOCK_FILE
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise ConfigError(
                f"{run_dir}: {holder} is writing this run; wait for it to end, or write to another folder"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"maskfuse process {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_config(cfg: Config, run_dir: Path) -> None:
    checkpoint.write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def training_splits(cfg: Config, run_dir: Path, resume: bool, world: World, device: torch.device) -> Splits:
    """The run's data, its text read through one set of tokenizers: a resumed run's own,
    else the main rank's on every rank (WordPiece training is not deterministic, so ranks
    training their own could number the same words differently)."""
    ckpt = checkpoint.latest(run_dir) if resume else None
    if ckpt is not None:
        return load_data(cfg.data, DataSpec.from_dict(checkpoint.read_config(ckpt)[1]), cfg)
    if world.size == 1:
        return load_data(cfg.data, run=cfg)
    splits = load_data(cfg.data, run=cfg) if world.main else None
    spec = text_from_main(json.dumps(splits.spec.to_dict()) if world.main else "", world, device)
    return splits or load_data(cfg.data, DataSpec.from_dict(json.loads(spec)), cfg)


def fit_batch(cfg: Config, rows: int, world: World) -> list[str]:
    """A batch larger than the training split becomes the whole split (a multiple of the
    rank count); returns the note that says so."""
    size = cfg.train.batch_size
    if size <= rows:
        return []
    cfg.train.batch_size = max(rows - rows % world.size, world.size)
    return [
        f"train.batch_size={size} is more than the {rows} training rows: each step uses "
        f"{cfg.train.batch_size} rows (train.batch_size={cfg.train.batch_size}), {cfg.train.steps} steps as set"
    ]


def fit_patches(cfg: Config, spec: DataSpec) -> list[str]:
    """An unset image.patch_size is chosen from the image size (auto_patch), written into
    the run's config and said; images of several sizes each get their own."""
    if cfg.image.patch_size is not None:
        return []
    images = [s for s in (spec, *spec.parts.values()) if s.modality == "image" and not s.parts]
    chosen = {tuple(s.shape[1:]): auto_patch(*s.shape[1:]) for s in images}
    if len(set(chosen.values())) == 1:
        cfg.image.patch_size = next(iter(chosen.values()))
    return [
        f"image.patch_size={p}: {h}x{w} images in a {h // p}x{w // p} grid of patches, chosen from the image size "
        f"(set image.patch_size to choose)"
        for (h, w), p in chosen.items()
    ]


def announce(notes: list[str], run_dir: Path, world: World) -> None:
    """Print what the data loading decided or dropped, and keep it in run_dir/data_notes.json."""
    if not world.main:
        return
    for note in notes:
        NOTES.print(f"[bold]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    checkpoint.write_text_atomic(run_dir / "data_notes.json", json.dumps(notes, indent=1))


def announce_init(rows: list[dict], source: str, run_dir: Path) -> None:
    """Print where the encoder's weights came from (model.init), one line per tensor, and keep
    the table in run_dir/init.json."""
    counts = {k: sum(r["status"] == k for r in rows) for k in ("loaded", "kept", "left at init", "unused")}
    said = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    NOTES.print(f"[bold]note:[/] model.init={escape(source)}: {said}", highlight=False, soft_wrap=True)
    for r in rows:
        why = f" ({r['why']})" if "why" in r else ""
        NOTES.print(f"  {r['status']:13s} {escape(r['tensor'])} {r['shape']}{escape(why)}", highlight=False)
    checkpoint.write_text_atomic(run_dir / "init.json", json.dumps({"source": source, "tensors": rows}, indent=1))


def check_modality(cfg: Config, spec: DataSpec) -> None:
    """A recipe made for one modality refuses data of another (cfg.modality)."""
    if cfg.modality is not None and spec.modality != cfg.modality:
        given = f"paired data ({', '.join(spec.parts)})" if spec.parts else f"{spec.modality} data"
        raise ConfigError(
            f"this recipe is for {cfg.modality} data (modality: {cfg.modality}), but data.name={cfg.data.name} gives "
            f"{given}; pass --data with {cfg.modality} data"
        )
