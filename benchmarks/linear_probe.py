"""Linear-probe cost: maskfuse's torch L-BFGS grid against scikit-learn's LogisticRegression.

Usage:
    .venv/bin/python benchmarks/linear_probe.py [--rows 10000] [--rounds 3]

Features are Fashion-MNIST raw pixels (784-d), the largest feature set `evaluate`
probes by default. Both sides run in one process, alternating, and the median of
each is reported with their ratio. scikit-learn fits one C (its default lbfgs,
C=1, max_iter=1000); maskfuse fits its four-value L2 grid on 90 % of the rows,
picks one on the other 10 %, and refits, so it does five fits' work.
Writes benchmarks/results/linear_probe.json. Needs Debian's dataset-fashion-mnist.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from maskfuse.config import DataConfig
from maskfuse.data import load_data
from maskfuse.evaluate.linear import linear_probe


def sklearn_probe(x, y, xt, yt) -> float:
    scaler = StandardScaler().fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x), y)
    return float((clf.predict(scaler.transform(xt)) == yt).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    s = load_data(DataConfig(name="fashion-mnist", max_train=args.rows, max_test=2000))
    x, xt = s.train.inputs.reshape(len(s.train), -1), s.test.inputs.reshape(len(s.test), -1)
    y, yt = s.train.labels, s.test.labels
    times: dict[str, list[float]] = {"maskfuse": [], "sklearn": []}
    acc: dict[str, float] = {}
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        acc["maskfuse"] = linear_probe(x, y, xt, yt).accuracy
        times["maskfuse"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        acc["sklearn"] = sklearn_probe(x.numpy(), y.numpy(), xt.numpy(), yt.numpy())
        times["sklearn"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "benchmark": f"linear probe on {args.rows} x 784 Fashion-MNIST pixels, 2000 test rows",
        "median_seconds": med,
        "all_seconds": times,
        "test_accuracy": acc,
        "speedup_vs_sklearn": med["sklearn"] / med["maskfuse"],
        "torch_threads": torch.get_num_threads(),
        "command": f"python benchmarks/linear_probe.py --rows {args.rows} --rounds {args.rounds}",
    }
    out = Path(__file__).parent / "results" / "linear_probe.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("median_seconds", "test_accuracy", "speedup_vs_sklearn")}, indent=2))


if __name__ == "__main__":
    main()
