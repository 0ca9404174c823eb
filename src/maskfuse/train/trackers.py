"""Experiment trackers beside metrics.jsonl: TensorBoard, Weights & Biases, MLflow and CSV.

`train.trackers=[wandb,mlflow]` (or `pretrain --log wandb,mlflow`) mirrors every logged scalar,
at its step, to each tracker, and `maskfuse evaluate` adds the evaluation table to the same
tracker run. metrics.jsonl stays the truth the report and resume read. Each tracker's package is
imported only when it is used, from its own extra (`pip install 'maskfuse[wandb]'`), and the
ids of the tracker runs are kept in run_dir/trackers.json so that a resumed run and its later
evaluation continue the run they began. W&B and MLflow read their usual settings from the
environment (WANDB_PROJECT, WANDB_MODE=offline, MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME).
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from maskfuse import checkpoint
from maskfuse.errors import ConfigError
from maskfuse.overrides import flatten
from maskfuse.registry import EVALUATIONS, TRACKERS

IDS_FILE = "trackers.json"


class Tracker(Protocol):
    """A sink of scalars. `log` gets each metrics record's numbers at its step; `evaluation`
    gets the evaluation's headline numbers (eval/<protocol>/<features>) and the whole report."""

    def log(self, scalars: dict[str, float], step: int) -> None: ...

    def evaluation(self, scalars: dict[str, float], step: int, report: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def _need(module: str, extra: str, tracker: str):
    """The tracker's package, or a ConfigError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise missing(tracker, extra) from err


def missing(tracker: str, extra: str) -> ConfigError:
    """The error for a tracker whose package is not installed, naming the extra that brings it."""
    return ConfigError(f"train.trackers={tracker} needs {extra}: pip install 'maskfuse[{extra}]'")


def _ids(run_dir: Path) -> dict[str, str]:
    try:
        ids = json.loads((run_dir / IDS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return ids if isinstance(ids, dict) else {}


def _keep_id(run_dir: Path, name: str, value: str) -> None:
    checkpoint.write_text_atomic(run_dir / IDS_FILE, json.dumps({**_ids(run_dir), name: value}, indent=1))


@TRACKERS.register("tensorboard")
class TensorBoard:
    """Scalars under run_dir/tensorboard; a resume purges the events past its step."""

    needs = ("tensorboard", "tensorboard")  # (module, the extra that installs it)

    def __init__(self, run_dir: Path, config: dict[str, Any], resume_step: int | None) -> None:
        _need("tensorboard", "tensorboard", "tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step or None)

    def log(self, scalars: dict[str, float], step: int) -> None:
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, step)

    def evaluation(self, scalars: dict[str, float], step: int, report: dict[str, Any]) -> None:
        self.log(scalars, step)

    def close(self) -> None:
        self.writer.close()


@TRACKERS.register("csv")
class CSVFile:
    """run_dir/metrics.csv in long form (step, key, value: `pandas.pivot` makes it wide) and
    run_dir/eval.csv (step, key, value) written anew by each evaluation."""

    needs = None

    def __init__(self, run_dir: Path, config: dict[str, Any], resume_step: int | None) -> None:
        self.path, self.eval_path = run_dir / "metrics.csv", run_dir / "eval.csv"
        kept = []
        if resume_step is not None and self.path.exists():  # a resume drops what comes after its step
            with open(self.path, newline="") as f:
                kept = [row for row in csv.reader(f) if row and row[0].isdigit() and int(row[0]) <= resume_step]
        if resume_step is not None:
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerows([["step", "key", "value"], *kept])

    def log(self, scalars: dict[str, float], step: int) -> None:
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerows([step, key, repr(value)] for key, value in scalars.items())

    def evaluation(self, scalars: dict[str, float], step: int, report: dict[str, Any]) -> None:
        rows = [["step", "key", "value"], *([step, key, repr(value)] for key, value in scalars.items())]
        with open(self.eval_path, "w", newline="") as f:
            csv.writer(f).writerows(rows)

    def close(self) -> None:
        pass


@TRACKERS.register("wandb")
class WandB:
    """One W&B run per maskfuse run (its id kept in trackers.json), named after the run folder,
    with the resolved config; files under run_dir/wandb. WANDB_MODE=offline logs without a network."""

    needs = ("wandb", "wandb")

    def __init__(self, run_dir: Path, config: dict[str, Any], resume_step: int | None) -> None:
        wandb = _need("wandb", "wandb", "wandb")
        run_id = _ids(run_dir).get("wandb") or uuid.uuid4().hex[:8]  # W&B ids: 8 of [a-z0-9]
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "maskfuse"), id=run_id, resume="allow", name=run_dir.name,
            dir=str(run_dir), config=config,
        )  # fmt: skip
        _keep_id(run_dir, "wandb", run_id)
        self.wandb = wandb

    def log(self, scalars: dict[str, float], step: int) -> None:
        self.run.log(scalars, step=step)

    def evaluation(self, scalars: dict[str, float], step: int, report: dict[str, Any]) -> None:
        self.run.summary.update(scalars)
        columns, rows = eval_table(report)
        self.run.summary["eval/table"] = self.wandb.Table(columns=columns, data=rows)

    def close(self) -> None:
        self.run.finish()


@TRACKERS.register("mlflow")
class MLflow:
    """One MLflow run per maskfuse run (its id kept in trackers.json) in the experiment
    MLFLOW_EXPERIMENT_NAME (default maskfuse); the flattened config as params, eval.json as an
    artifact. The tracking store is MLflow's own setting (MLFLOW_TRACKING_URI)."""

    needs = ("mlflow", "mlflow")

    def __init__(self, run_dir: Path, config: dict[str, Any], resume_step: int | None) -> None:
        tracking = _need("mlflow.tracking", "mlflow", "mlflow")
        from mlflow.entities import Param

        self.client = tracking.MlflowClient()
        run_id = _ids(run_dir).get("mlflow")
        if run_id is None:
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "maskfuse")
            found = self.client.get_experiment_by_name(name)
            experiment = found.experiment_id if found else self.client.create_experiment(name)
            run_id = self.client.create_run(experiment, run_name=run_dir.name).info.run_id
            params = [Param(k, str(v)[:6000]) for k, v in flatten(config).items()]
            for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
                self.client.log_batch(run_id, params=params[i : i + 100])
            _keep_id(run_dir, "mlflow", run_id)
        self.run_id = run_id

    def log(self, scalars: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in scalars.items()])

    def evaluation(self, scalars: dict[str, float], step: int, report: dict[str, Any]) -> None:
        self.log(scalars, step)
        self.client.log_dict(self.run_id, report, "eval.json")

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def tracker_names(train_cfg) -> list[str]:
    """The trackers a run logs to (train.tensorboard=true counts as tensorboard), each checked."""
    names = list(dict.fromkeys([*train_cfg.trackers, *(["tensorboard"] if train_cfg.tensorboard else [])]))
    for name in names:  # an unknown name, or a missing package, fails before any data is read
        needs = TRACKERS.get(name).needs
        if needs and importlib.util.find_spec(needs[0]) is None:
            raise missing(name, needs[1])
    return names


def open_trackers(names: list[str], run_dir: Path, config: dict[str, Any], resume_step: int | None) -> list[Tracker]:
    """Open each tracker; `resume_step` is the step training (re)starts from, None for an evaluation."""
    return [TRACKERS.get(name)(run_dir, config, resume_step) for name in names]


def eval_table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The evaluation's headline numbers as a table: one row per feature set (raw input, random
    init, pretrained), one column per protocol; None where a protocol was skipped."""
    names = report["protocols"]
    rows = []
    for row, per_protocol in report["results"].items():
        cells = []
        for name in names:
            result = per_protocol.get(name, {})
            cells.append(None if "skipped" in result else result.get(EVALUATIONS.get(name).headline))
        rows.append([row, *cells])
    return ["features", *names], rows


def eval_scalars(report: dict[str, Any]) -> dict[str, float]:
    """eval/<protocol>/<features> -> headline value, for every cell of the table that has one."""
    columns, rows = eval_table(report)
    return {f"eval/{c}/{r[0]}": float(v) for r in rows for c, v in zip(columns[1:], r[1:]) if v is not None}


def log_evaluation(run_dir: Path, train_cfg, config: dict[str, Any], report: dict[str, Any]) -> None:
    """Add an evaluation to the run's trackers (nothing when it has none)."""
    names = tracker_names(train_cfg)
    if not names:
        return
    for tracker in open_trackers(names, run_dir, config, None):
        tracker.evaluation(eval_scalars(report), int(report["step"]), report)
        tracker.close()
