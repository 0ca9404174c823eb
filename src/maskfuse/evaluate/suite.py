"""Evaluate a run against baselines: raw inputs, the random-init encoder, the pretrained one."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from maskfuse.build import build_method
from maskfuse.config import Config, EvalConfig
from maskfuse.data import Splits, load_data
from maskfuse.evaluate.features import embed_dataset, raw_features
from maskfuse.evaluate.knn import knn_accuracy
from maskfuse.evaluate.linear import linear_probe
from maskfuse.evaluate.rankme import rankme
from maskfuse.pretrained import load
from maskfuse.train import checkpoint


def score(train: torch.Tensor, test: torch.Tensor, splits: Splits, cfg: EvalConfig) -> dict[str, float]:
    """k-NN and linear-probe accuracy (when labels exist) and RankMe of one feature set."""
    result = {"rankme": rankme(train[:10000]), "dim": int(train.shape[1])}
    tr_y, te_y = splits.train.labels, splits.test.labels
    if tr_y is not None and te_y is not None:
        result["knn"] = knn_accuracy(train, tr_y, test, te_y, cfg.knn_k, cfg.knn_temperature)
        probe = linear_probe(train, tr_y, test, te_y, cfg.probe_weight_decays)
        result["linear"] = probe.accuracy
        result["linear_weight_decay"] = probe.weight_decay
    return result


def evaluate_run(run_dir: Path, cfg: Config | None = None, splits: Splits | None = None) -> dict[str, Any]:
    """Score the run's latest checkpoint (and baselines) on its held-out split; write eval.json."""
    t0 = time.perf_counter()
    model = load(run_dir)
    cfg = cfg or model.config
    splits = splits or load_data(cfg.data)
    rows: dict[str, dict[str, float]] = {}
    if cfg.eval.baselines:
        rows["raw input"] = score(raw_features(splits.train), raw_features(splits.test), splits, cfg.eval)
        init = build_method(cfg, model.spec).backbone  # the exact weights pretraining started from
        rows["random init"] = score(*_embed(init, splits, cfg), splits, cfg.eval)
    rows["pretrained"] = score(*_embed(model.backbone, splits, cfg), splits, cfg.eval)
    report = {
        "run": str(run_dir),
        "method": cfg.method,
        "data": splits.source,
        "step": model.step,
        "train_rows": len(splits.train),
        "test_rows": len(splits.test),
        "protocols": {
            "knn": f"cosine, k={cfg.eval.knn_k}, temperature={cfg.eval.knn_temperature}",
            "linear": "L-BFGS logistic regression on standardised features; L2 strength from "
            f"{list(cfg.eval.probe_weight_decays)} chosen on 10 % of the training rows",
            "rankme": "effective rank of the first 10,000 training embeddings",
        },
        "results": rows,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    checkpoint.write_text_atomic(Path(run_dir) / "eval.json", json.dumps(report, indent=2))
    return report


def _embed(backbone: torch.nn.Module, splits: Splits, cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    return embed_dataset(backbone, splits.train, cfg.eval.batch_size), embed_dataset(
        backbone, splits.test, cfg.eval.batch_size
    )
