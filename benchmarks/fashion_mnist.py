"""Quality at a fixed budget: pretrain a recipe on all of Fashion-MNIST, then evaluate.

Usage:
    .venv/bin/python benchmarks/fashion_mnist.py --recipe mae train.steps=4000 ...

Writes benchmarks/results/fashion_mnist_<recipe>.json with the wall-clock time of the
pretraining, the machine, the resolved overrides and the evaluation table (raw
pixels, random init, pretrained). Needs Debian's dataset-fashion-mnist.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

import maskfuse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--name", help="result name; default the recipe")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    name = args.name or args.recipe
    run = Path("runs") / f"bench-fashion-mnist-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    overrides = ["data.name=fashion-mnist", "train.progress=false", *args.overrides]
    cfg = maskfuse.resolve(args.recipe, overrides)
    t0 = time.perf_counter()
    maskfuse.pretrain(cfg, run)
    train_s = time.perf_counter() - t0
    report = maskfuse.evaluate(run)
    result = {
        "benchmark": "fashion-mnist quality at a fixed budget",
        "recipe": args.recipe,
        "overrides": overrides,
        "pretrain_seconds": round(train_s, 1),
        "eval_seconds": report["seconds"],
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "platform": platform.platform(),
        },
        "command": f"python benchmarks/fashion_mnist.py --recipe {args.recipe} {' '.join(args.overrides)}",
        "evaluation": report,
    }
    out = Path(__file__).parent / "results" / f"fashion_mnist_{name}.json"
    out.write_text(json.dumps(result, indent=2))
    for row, r in report["results"].items():
        knn, lin, rank = r["knn"]["top1"], r["linear"]["top1"], r["diagnostics"]["rankme"]
        print(f"{row:12s} knn {100 * knn:.1f}  linear {100 * lin:.1f}  rankme {rank:.1f}")
    print(f"pretraining {train_s:.0f} s; written {out}")


if __name__ == "__main__":
    main()
