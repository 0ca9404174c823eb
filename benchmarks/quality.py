"""Quality at a wall-clock budget: pretrain a recipe on a whole labelled set, then evaluate.

Usage:
    .venv/bin/python benchmarks/quality.py --data fashion-mnist --recipe simclr train.budget=15m ...
    .venv/bin/python benchmarks/quality.py --data cifar10 --recipe simclr train.budget=60m ...
    .venv/bin/python benchmarks/quality.py --data modelnet10 --recipe volume-mae train.budget=5m ...

Data: `fashion-mnist` (Debian's dataset-fashion-mnist, 60k / 10k) or `cifar10` (the
JPEG folders of ../shared/data/cifar10, 50k / 10k, extracted once into
benchmarks/.data/, read as the image folder it is: train/ and test/ with class
sub-folders) or `modelnet10` (../shared/data/modelnet10: 3,991 / 908 CAD shapes as 30^3
occupancy grids, read by the "volumes" source), `moving-mnist` (clips made from
../shared/data/mnist-test: 5,000 / 5,000, no digit in both) or `msr-action3d` (567 skeleton
sequences, the standard cross-subject split: odd subjects train, written once as a split
array into benchmarks/.data/), drawn as stick-figure clips (`msr-clips`) or those clips
paired with their skeletons (`msr-pairs`, for cross-modal retrieval). Writes
benchmarks/results/<data>_<name>.json with the pretraining time,
the steps the budget bought, the machine, the overrides, every metrics.jsonl record
(the curve) and the evaluation table (raw input, random init, pretrained).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tarfile
import time
from pathlib import Path

import numpy as np
import torch

import maskfuse

ROOT = Path(__file__).resolve().parent
SHARED = ROOT.parent.parent / "shared" / "data"
CIFAR_ARCHIVE = SHARED / "cifar10" / "cifar10-jpeg.tar.gz"


def cifar10_folder() -> Path:
    """The CIFAR-10 JPEG folders, extracted from ../shared/data once (never committed)."""
    target = ROOT / ".data"
    if not (target / "cifar10" / "test").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(CIFAR_ARCHIVE) as archive:
            archive.extractall(target, filter="data")
    return target / "cifar10"


DATA = ("fashion-mnist", "cifar10", "modelnet10", "moving-mnist", "msr-action3d", "msr-clips", "msr-pairs")


def msr_cross_subject() -> Path:
    """MSR Action3D with a `split` array (odd subjects train, even test), derived once."""
    target = ROOT / ".data" / "msr_action3d_cross_subject.npz"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with np.load(SHARED / "msr-action3d" / "msr_action3d_skeleton.npz") as z:
            arrays = {k: z[k] for k in z.files}
        arrays["split"] = np.where(arrays["subjects"] % 2 == 1, "train", "test")
        np.savez(target, **arrays)
    return target


def data_settings(name: str) -> list[str]:
    if name == "fashion-mnist":
        return ["data.name=fashion-mnist"]
    if name == "moving-mnist":
        return ["data.name=moving-mnist", f"data.path={SHARED / 'mnist-test'}"]
    if name == "msr-action3d":
        return ["data.name=motion", f"data.path={msr_cross_subject()}"]
    if name in ("msr-clips", "msr-pairs"):  # drawn as stick figures: the clips alone, or paired with skeletons
        return [f"data.name=motion-{name[4:]}", f"data.path={msr_cross_subject()}"]
    if name == "modelnet10":
        arrays = "data.arrays=[volumes:X_train,labels:y_train,test_volumes:X_test,test_labels:y_test]"
        return ["data.name=volumes", f"data.path={SHARED / 'modelnet10' / 'modelnet10_vox30.npz'}", arrays]
    return ["data.name=image-folder", f"data.path={cifar10_folder()}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=DATA, default="fashion-mnist")
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--name", help="result name; default the recipe")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    name = args.name or args.recipe
    run = Path("runs") / f"bench-{args.data}-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    overrides = [*data_settings(args.data), "train.progress=false", *args.overrides]
    cfg = maskfuse.resolve(args.recipe, overrides)
    t0 = time.perf_counter()
    maskfuse.pretrain(cfg, run)
    train_s = time.perf_counter() - t0
    report = maskfuse.evaluate(run)
    curve = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    result = {
        "benchmark": f"{args.data} quality at a fixed budget",
        "recipe": args.recipe,
        "overrides": overrides,
        "pretrain_seconds": round(train_s, 1),
        "steps": report["step"],
        "eval_seconds": report["seconds"],
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "platform": platform.platform(),
        },
        "command": f"python benchmarks/quality.py --data {args.data} --recipe {args.recipe} {' '.join(args.overrides)}",
        "evaluation": report,
        "curve": curve,
    }
    out = ROOT / "results" / f"{args.data.replace('-', '_')}_{name}.json"
    out.write_text(json.dumps(result, indent=2))
    for row, r in report["results"].items():
        knn, lin = r["knn"], r["linear"]
        print(f"{row:12s} knn {100 * knn['top1']:.1f} ({knn.get('pooling', '-')})  "
              f"linear {100 * lin['top1']:.1f} ({lin['pooling']})")  # fmt: skip
    for row, found in report.get("crossmodal", {}).items():  # paired data: retrieval both ways
        for pair, r in found["retrieval"].items():
            print(f"{row:12s} {pair} R@1 {r['R@1']:.1f} R@10 {r['R@10']:.1f} class R@1 {r['class_R@1']:.1f}")
    print(f"pretraining {train_s:.0f} s, {report['step']} steps; written {out}")


if __name__ == "__main__":
    main()
