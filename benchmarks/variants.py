"""Masking strategies and contrastive variants against plain MAE / SimCLR, at the same
wall-clock budget, on Fashion-MNIST.

Usage:
    .venv/bin/python benchmarks/variants.py [--budget 60] [--only mae,noise-green ...]

Every variant trains the same `nano` encoder (7x7 patches, 16 tokens) on the first
10,000 training images; each first runs 15 steps to measure its own step time, then
gets as many steps as fit in --budget seconds with a full cosine schedule, so slower
variants get fewer steps: the comparison is at equal compute time, not equal steps.
Scored on the first 2,000 test images by k-NN (k = 20) and the linear probe.
Writes benchmarks/results/variants.json and prints a Markdown table.
Needs Debian's dataset-fashion-mnist.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

import maskfuse

COMMON = [
    "data.name=fashion-mnist", "data.max_train=10000", "data.max_test=2000", "image.patch_size=7",
    "train.progress=false", "train.monitor_every=0", "train.batch_size=128", "train.warmup_steps=10",
    "eval.protocols=[knn, linear]",
]  # fmt: skip

# name: (family, recipe, overrides)
VARIANTS: dict[str, tuple[str, str, list[str]]] = {
    "mae": ("masking", "mae", []),
    "block": ("masking", "mae", ["mask.sampler=block"]),
    "noise-red": ("masking", "mae", ["mask.sampler=noise", "mask.noise_color=red"]),
    "noise-green": ("masking", "mae", ["mask.sampler=noise", "mask.noise_color=green"]),
    "noise-blue": ("masking", "mae", ["mask.sampler=noise", "mask.noise_color=blue"]),
    "tube": ("masking", "mae", ["mask.sampler=tube"]),
    "multiblock": ("masking", "mae", ["mask.sampler=multiblock"]),
    "hpm": ("masking", "hpm", []),
    "data2vec": ("targets", "data2vec", []),
    "ijepa": ("targets", "ijepa", []),
    "simclr": ("contrastive", "simclr", []),
    "dcl": ("contrastive", "simclr", ["contrastive.loss=dcl"]),
    "hard-negatives": ("contrastive", "simclr", ["contrastive.loss=hard-negatives"]),
    "tau": ("contrastive", "simclr", ["contrastive.loss=tau"]),
    "multiview-3": ("contrastive", "simclr", ["contrastive.views=3"]),
    "moco": ("contrastive", "moco", []),
    "byol": ("bootstrap", "byol", []),
    # frozen teacher: a SimCLR run of the same budget on the same images, trained first (its time not counted)
    "maskdistill": ("teacher", "maskdistill", ["teacher.path={teacher}"]),
    "dmae-2": ("teacher", "maskdistill", ["teacher.path={teacher}", "teacher.layers=2"]),
    "mrmae": ("teacher", "mrmae", ["teacher.path={teacher}"]),
    "maskalign": ("teacher", "maskalign", ["teacher.path={teacher}"]),
}
MASK_BASE = ["image.norm_pix=false", "mask.ratio=0.5"]  # what the demo and the tests found works at 16 tokens


def overrides(recipe: str, extra: list[str]) -> list[str]:
    return COMMON + (MASK_BASE if recipe in ("mae", "hpm", "mrmae") else []) + extra


def train_teacher(budget: float, folder: Path) -> Path:
    """The frozen teacher of the `teacher` family: SimCLR for `budget` seconds."""
    steps = max(20, int(budget / seconds_per_step("simclr", [], folder / "calibrate")))
    cfg = maskfuse.resolve("simclr", overrides("simclr", []) + [f"train.steps={steps}"])
    print(f"teacher: simclr, {steps} steps")
    return maskfuse.pretrain(cfg, folder / "run")


def seconds_per_step(recipe: str, extra: list[str], folder: Path) -> float:
    cfg = maskfuse.resolve(recipe, overrides(recipe, extra) + ["train.steps=15", "train.log_every=1"])
    run = maskfuse.pretrain(cfg, folder)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return (lines[-1]["elapsed_s"] - lines[4]["elapsed_s"]) / (lines[-1]["step"] - lines[4]["step"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of training per variant")
    parser.add_argument("--only", help="comma-separated variant names")
    parser.add_argument("--out", default="variants.json", help="result file name under benchmarks/results")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(VARIANTS)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        needs_teacher = any("{teacher}" in e for n in names for e in VARIANTS[n][2])
        teacher = train_teacher(args.budget, Path(tmp) / "teacher") if needs_teacher else None
        for i, name in enumerate(names):
            family, recipe, extra = VARIANTS[name]
            extra = [e.format(teacher=teacher) for e in extra]
            step_s = seconds_per_step(recipe, extra, Path(tmp) / f"{name}-calibrate")
            steps = max(20, int(args.budget / step_s))
            baselines = "eval.baselines=true" if i == 0 else "eval.baselines=false"
            cfg = maskfuse.resolve(recipe, overrides(recipe, extra) + [f"train.steps={steps}", baselines])
            t0 = time.perf_counter()
            run = maskfuse.pretrain(cfg, Path(tmp) / name)
            train_s = time.perf_counter() - t0
            report = maskfuse.evaluate(run)
            if i == 0:
                for row in ("raw input", "random init"):
                    r = report["results"][row]
                    results[row] = {"family": "baseline", "knn": r["knn"]["top1"], "linear": r["linear"]["top1"]}
            r = report["results"]["pretrained"]
            results[name] = {
                "family": family, "recipe": recipe, "overrides": VARIANTS[name][2], "steps": steps,
                "seconds_per_step": round(step_s, 4), "train_seconds": round(train_s, 1),
                "knn": r["knn"]["top1"], "linear": r["linear"]["top1"],
            }  # fmt: skip
            print(
                f"{name:16s} steps {steps:5d}  knn {100 * r['knn']['top1']:.1f}  linear {100 * r['linear']['top1']:.1f}"
            )
    out = Path(__file__).parent / "results" / args.out
    command = f"python benchmarks/variants.py --budget {args.budget:.0f}" + (
        f" --only {args.only}" if args.only else ""
    )
    payload = {
        "benchmark": f"variants at {args.budget:.0f} s of training each, Fashion-MNIST 10k / 2k",
        "torch_threads": torch.get_num_threads(),
        "command": command,
        "results": results,
    }
    out.write_text(json.dumps(payload, indent=2))
    print("\n| variant | family | steps | k-NN | linear probe |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['family']} | {r.get('steps', '-')} | {100 * r['knn']:.1f} % | {100 * r['linear']:.1f} % |"
        )


if __name__ == "__main__":
    main()
