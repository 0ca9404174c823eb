"""Data-parallel scaling on this machine: one process vs torchrun with N gloo ranks.

Usage:
    .venv/bin/python benchmarks/ddp_scaling.py [--steps 60] [--ranks 2] [--recipe mae]

The same recipe, global batch and steps run once as a single process using every core
and once under `torchrun --nproc-per-node N` with the cores split between ranks. The
rate is training samples per second over the second half of the steps (rank 0's
metrics.jsonl, after warm-up). On a 2-core CPU the ranks share the cores the single
process already used, so the ratio measures DDP's overhead (gradient all-reduce over
gloo, gathered negatives), not a speed-up. Writes benchmarks/results/ddp_scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def rate(run: Path) -> float:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    half = rows[len(rows) // 2 :]
    seconds = half[-1]["elapsed_s"] - half[0]["elapsed_s"]
    steps = half[-1]["step"] - half[0]["step"]
    return steps * BATCH / seconds


BATCH = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--recipe", default="mae")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    common = ["pretrain", "--recipe", args.recipe, f"train.steps={args.steps}", f"train.batch_size={BATCH}",
              "train.progress=false", "train.monitor_every=0", "train.log_every=1", "model.size=micro"]  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        single = Path(tmp) / "single"
        env = {**os.environ, "OMP_NUM_THREADS": str(cores)}
        subprocess.run([sys.executable, "-m", "maskfuse", *common, "--out", str(single)], check=True, env=env)
        results["1 process"] = {"threads": cores, "samples_per_s": round(rate(single), 1)}
        multi = Path(tmp) / "ddp"
        per = max(1, cores // args.ranks)
        launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(args.ranks), "-m", "maskfuse"]
        env = {**os.environ, "OMP_NUM_THREADS": str(per)}
        subprocess.run([*launch, *common, "--out", str(multi)], check=True, env=env)
        results[f"{args.ranks} gloo ranks"] = {"threads_per_rank": per, "samples_per_s": round(rate(multi), 1)}
    ratio = results[f"{args.ranks} gloo ranks"]["samples_per_s"] / results["1 process"]["samples_per_s"]
    payload = {
        "benchmark": f"{args.recipe}, micro trunk, global batch {BATCH}, {args.steps} steps; rate over the 2nd half",
        "cores": cores,
        "command": f"python benchmarks/ddp_scaling.py --steps {args.steps} --ranks {args.ranks} --recipe {args.recipe}",
        "results": results,
        "ddp_over_single": round(ratio, 3),
    }
    out = Path(__file__).parent / "results" / f"ddp_scaling_{args.recipe}.json"
    out.write_text(json.dumps(payload, indent=2))
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
