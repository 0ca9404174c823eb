"""Evaluate a run against baselines: raw inputs, the random-init encoder, the pretrained one.

Features are computed once per model and shared by every protocol; results go to
eval.json as results[row][protocol] = {metric: value}.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maskfuse import checkpoint
from maskfuse.config import Config
from maskfuse.data import Splits, load_data, resident
from maskfuse.data.paired import part_splits
from maskfuse.encoder import Backbone, embed_dataset
from maskfuse.errors import ConfigError
from maskfuse.evaluate.alignment import linear_cka, mutual_knn
from maskfuse.evaluate.crossmodal import crossmodal_results
from maskfuse.evaluate.features import FeatureSet, backbone_feature_set, raw_feature_set
from maskfuse.evaluate.protocol import Protocol
from maskfuse.methods.build import build_method
from maskfuse.pretrained import Pretrained, load
from maskfuse.progress import progress
from maskfuse.registry import EVALUATIONS


def _quiet(n: int = 1, what: str = "") -> None:
    """Progress that goes nowhere, for callers that show none."""


def feature_sets(
    backbone: Backbone, init: Backbone | None, cfg: Config, splits: Splits, advance: Callable[..., None] = _quiet
) -> list[FeatureSet]:
    """The pretrained encoder's features, and with an `init` (the random-init encoder) the
    two baselines: raw inputs and that encoder."""
    e = cfg.eval
    sets = []
    if init is not None:
        sets.append(raw_feature_set(splits, backbone.tokenizer.raw_features, e.batch_size))
        advance(what="raw input features")
        name = "initial weights" if cfg.model.init else "random init"  # model.init: the source's
        sets.append(backbone_feature_set(name, init, splits, e.batch_size, e.probe_last_n))
        advance(what="random-init features")
    sets.append(backbone_feature_set("pretrained", backbone, splits, e.batch_size, e.probe_last_n))
    advance(what="pretrained features")
    return sets


def work(names: tuple[str, ...], baselines: bool) -> int:
    """Progress steps of one modality's evaluation: each feature set, then each protocol on it."""
    return (3 if baselines else 1) * (1 + len(names))


def single_results(model: Pretrained, splits: Splits, names: tuple[str, ...]) -> dict[str, Any]:
    cfg = model.config
    init = build_method(cfg, model.spec).backbone if cfg.eval.baselines else None  # the weights training began from
    with progress("evaluating", work(names, init is not None)) as advance:
        sets = feature_sets(model.backbone, init, cfg, splits, advance)
        return {fs.name: run_protocols(fs, names, cfg, advance) for fs in sets}


def paired_results(model: Pretrained, splits: Splits, names: tuple[str, ...]) -> tuple[dict, dict]:
    """Per-modality protocol rows ("pretrained · image", ...) and the cross-modal results
    (retrieval, zero-shot, missing modalities) of the pretrained and random-init models."""
    cfg = model.config
    init = build_method(cfg, model.spec).backbone
    results, cross, e = {}, {}, cfg.eval
    with progress("evaluating", len(model.spec.parts) * work(names, e.baselines) + 2) as advance:
        for m in model.spec.parts:
            part = part_splits(splits, m)
            base = init.part(m) if e.baselines else None
            for fs in feature_sets(model.backbone.part(m), base, cfg, part, advance):
                results[f"{fs.name} · {m}"] = run_protocols(fs, names, cfg, advance)
        for row, bb in (("random init", init), ("pretrained", model.backbone)):
            cross[row] = crossmodal_results(bb, model.spec, splits.train, splits.test, e.zeroshot_prompt, e.batch_size)
            advance(what=f"cross-modal, {row}")
    return results, cross


def run_protocols(
    fs: FeatureSet, names: tuple[str, ...], cfg: Config, advance: Callable[..., None] = _quiet
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        proto: Protocol = EVALUATIONS.get(name)
        reason = proto.applies(fs)
        out[name] = {"skipped": reason} if reason else proto.run(fs, cfg.eval)
        advance(what=f"{name} on {fs.name}")
    return out


def compare_runs(model: Pretrained, other_dir: Path, splits: Splits, batch_size: int) -> dict[str, Any]:
    """Linear CKA and mutual k-NN between two runs' embeddings of this run's test split."""
    if model.spec.parts:
        raise ConfigError("--compare works on single-modality runs; this run is multimodal")
    other = load(other_dir)
    if tuple(other.spec.shape) != tuple(model.spec.shape):
        raise ConfigError(f"{other_dir} was trained on inputs {other.spec.shape}, this run on {model.spec.shape}")
    a = embed_dataset(model.backbone, splits.test, batch_size)
    b = embed_dataset(other.backbone, splits.test, batch_size)
    return {"other": str(other_dir), "linear_cka": linear_cka(a, b), "mutual_knn@10": mutual_knn(a, b, 10)}


def evaluate_run(
    run_dir: Path, protocols: tuple[str, ...] | None = None, compare: Path | None = None
) -> dict[str, Any]:
    """Score the run's latest checkpoint (and baselines) on its held-out split; write eval.json
    (where it cannot be written, report["unsaved"] says where and why)."""
    t0 = time.perf_counter()
    model = load(run_dir)
    cfg = model.config
    names = tuple(protocols or cfg.eval.protocols)
    if not names:
        raise ConfigError("eval.protocols is empty; name at least one protocol")
    for name in names:
        EVALUATIONS.get(name)  # unknown names fail before any work
    splits = resident(load_data(cfg.data, model.spec, cfg), cfg.eval.stream_rows)
    cross = None
    if model.spec.parts:
        results, cross = paired_results(model, splits, names)
    else:
        results = single_results(model, splits, names)
    report: dict[str, Any] = {
        "run": str(run_dir),
        "method": cfg.method,
        "data": splits.source,
        "step": model.step,
        "train_rows": len(splits.train),
        "test_rows": len(splits.test),
        "protocols": list(names),
        "results": results,
    }
    if cross is not None:
        report["crossmodal"] = cross
    if compare is not None:
        report["comparison"] = compare_runs(model, Path(compare), splits, cfg.eval.batch_size)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    path = Path(run_dir) / "eval.json"
    try:
        checkpoint.write_text_atomic(path, json.dumps(report, indent=2))
    except OSError as err:  # a read-only run still gets its numbers; the caller says they went unsaved
        report["unsaved"] = f"{path} ({err.strerror or err})"
    return report


def saved_eval(run_dir: Path, step: int) -> dict[str, Any] | None:
    """The run's eval.json when it scores the checkpoint at `step`; None when it is missing,
    unreadable or scores another step."""
    try:
        report = json.loads((Path(run_dir) / "eval.json").read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and report.get("step") == step and "results" in report else None


def headline_rows(report: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Column titles and, per row, the formatted headline of each protocol (for tables)."""
    names = report["protocols"]
    columns = [EVALUATIONS.get(n).column for n in names]
    rows = {}
    for row, per_protocol in report["results"].items():
        cells = []
        for name in names:
            proto, result = EVALUATIONS.get(name), per_protocol[name]
            if "skipped" in result:
                cells.append("n/a")  # eval.json says why
            else:
                value = result[proto.headline]
                cells.append(f"{100 * value:.1f} %" if proto.percent else f"{value:.2f}")
        rows[row] = cells
    return columns, rows


def knn_note(report: dict[str, Any]) -> str:
    """Which k the k-NN column uses, when the smallest class capped it ("" otherwise)."""
    for result in report["results"].values():
        knn = result.get("knn", {})
        if knn.get("k_capped"):
            return (f"k-NN votes over k = {knn['k']} neighbours: capped at the training rows of the "
                    "smallest class, so that class can win a vote.")  # fmt: skip
    return ""
