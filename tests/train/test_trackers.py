"""Trackers beside metrics.jsonl: each logs the same scalars and the evaluation, offline."""

import csv
import glob
import json
import struct
from pathlib import Path

import pytest

import maskfuse
from maskfuse.errors import ConfigError
from tests.conftest import small_config


def jsonl_scalars(run):
    out = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        out.update({(r["step"], k): float(v) for k, v in r.items() if k != "step" and isinstance(v, (int, float))})
    return out


def headline(run):
    results = json.loads((run / "eval.json").read_text())["results"]
    return {f"eval/{p}/{row}": r[p]["top1"] for row, r in results.items() for p in ("knn", "linear")}


def cfg(tracker, *extra):
    return small_config(
        "mae", t=f"train.trackers=[{tracker}]", m="train.monitor_every=10", e="eval.protocols=[knn,linear]",
        **{f"x{i}": x for i, x in enumerate(extra)},
    )  # fmt: skip


def test_csv_mirrors_every_scalar_survives_a_resume_and_takes_the_evaluation(tmp_path):
    run = tmp_path / "run"
    maskfuse.pretrain(cfg("csv", "train.stop_after=10", "train.log_every=1"), run)
    maskfuse.resume(run)
    with open(run / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "key", "value"]
    logged = {(int(s), k): float(v) for s, k, v in rows[1:]}
    assert len(logged) == len(rows) - 1  # no step written twice across the resume
    assert logged == jsonl_scalars(run)
    assert {s for s, _ in logged} == set(range(1, 21))
    maskfuse.evaluate(run)
    with open(run / "eval.csv", newline="") as f:
        evaluated = {k: float(v) for s, k, v in list(csv.reader(f))[1:]}
    assert {k: evaluated[k] for k in headline(run)} == headline(run)


def wandb_records(run):
    """History and summary of an offline W&B run, read from its .wandb file (LevelDB log format:
    32 KiB blocks of records with a 7-byte header; each record is a protobuf `Record`)."""
    from wandb.proto import wandb_internal_pb2 as pb

    history, summary = {}, {}
    # offline, each session of the run (training, then evaluate) writes a file of its own
    for path in sorted(glob.glob(str(run / "wandb" / "offline-run-*" / "run-*.wandb"))):
        data, pos, part = Path(path).read_bytes(), 7, b""
        while pos + 7 <= len(data):
            left = 32768 - pos % 32768
            _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
            if left < 7 or (length == 0 and kind == 0):
                pos += left
                continue
            part += data[pos + 7 : pos + 7 + length]
            pos += 7 + length
            if kind in (1, 4):  # a full record, or the last piece of one
                record = pb.Record()
                record.ParseFromString(part)
                part = b""
                which = record.WhichOneof("record_type")
                if which == "history":
                    items = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
                    history.update({(items["_step"], k): v for k, v in items.items() if not k.startswith("_")})
                elif which == "summary":
                    summary.update({i.key or "/".join(i.nested_key): i.value_json for i in record.summary.update})
    return history, summary


def test_wandb_offline_logs_the_same_scalars_and_the_evaluation(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = maskfuse.pretrain(cfg("wandb"), tmp_path / "run")
    maskfuse.evaluate(run)
    history, summary = wandb_records(run)
    assert history == pytest.approx(jsonl_scalars(run))
    for key, value in headline(run).items():
        assert json.loads(summary[key]) == pytest.approx(value)
    assert "eval/table" in summary
    run_id = json.loads((run / "trackers.json").read_text())["wandb"]
    sessions = sorted(p.name for p in (run / "wandb").glob("offline-run-*"))
    assert len(sessions) == 2 and all(name.endswith(f"-{run_id}") for name in sessions)  # one W&B run


def test_mlflow_file_store_gets_scalars_params_and_evaluation(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store behind this switch
    from mlflow.tracking import MlflowClient

    run = maskfuse.pretrain(cfg("mlflow"), tmp_path / "run")
    maskfuse.evaluate(run)
    client = MlflowClient()
    run_id = json.loads((run / "trackers.json").read_text())["mlflow"]
    got = client.get_run(run_id)
    assert got.info.run_name == "run" and got.data.params["train.steps"] == "20"
    expected = jsonl_scalars(run)
    for key in {k for _, k in expected}:
        history = {(m.step, key): m.value for m in client.get_metric_history(run_id, key)}
        assert history == pytest.approx({sk: v for sk, v in expected.items() if sk[1] == key})
    for key, value in headline(run).items():
        assert got.data.metrics[key] == pytest.approx(value)


def test_unknown_or_missing_trackers_fail_before_training(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"unknown tracker 'wandbb' \(did you mean 'wandb'\?\)"):
        maskfuse.pretrain(cfg("wandbb"), tmp_path / "a")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError, match=r"train.trackers=mlflow needs mlflow: pip install 'maskfuse\[mlflow\]'"):
        maskfuse.pretrain(cfg("mlflow"), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
