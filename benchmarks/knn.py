"""k-NN cost: maskfuse's chunked torch top-k against scikit-learn's KNeighborsClassifier.

Usage:
    .venv/bin/python benchmarks/knn.py [--rounds 2]

Real features: Fashion-MNIST's 60,000 training and 10,000 test images, as raw pixels
(784-d) and as their 128-d PCA projection (the width of a small encoder). Both sides
classify all 10k test rows by their 20 cosine nearest neighbours among the 60k, in
one process, alternating; medians and ratios go to benchmarks/results/knn.json.
maskfuse also returns every k of its grid (1 to 100) from the same search.
scikit-learn: brute-force cosine search (what it uses for that metric), uniform votes.
Needs Debian's dataset-fashion-mnist.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

from maskfuse.config import DataConfig
from maskfuse.data import load_data
from maskfuse.evaluate.knn import knn_predict_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    s = load_data(DataConfig(name="fashion-mnist"))
    raw_tr, raw_te = s.train.inputs.reshape(len(s.train), -1), s.test.inputs.reshape(len(s.test), -1)
    pca = PCA(128, random_state=0).fit(raw_tr.numpy())
    sets = {
        "raw 784-d": (raw_tr, raw_te),
        "pca 128-d": (torch.from_numpy(pca.transform(raw_tr.numpy())), torch.from_numpy(pca.transform(raw_te.numpy()))),
    }
    y, yt = s.train.labels, s.test.labels
    results = {}
    for name, (tr, te) in sets.items():
        times: dict[str, list[float]] = {"maskfuse": [], "sklearn": []}
        acc = {}
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            preds = knn_predict_grid(tr, y, te, (1, 5, 10, 20, 50, 100))
            times["maskfuse"].append(time.perf_counter() - t0)
            acc["maskfuse k=20"] = float((preds[20] == yt).float().mean())
            t0 = time.perf_counter()
            clf = KNeighborsClassifier(n_neighbors=20, metric="cosine", algorithm="brute", n_jobs=-1)
            pred = clf.fit(tr.numpy(), y.numpy()).predict(te.numpy())
            times["sklearn"].append(time.perf_counter() - t0)
            acc["sklearn k=20"] = float((pred == yt.numpy()).mean())
        med = {k: statistics.median(v) for k, v in times.items()}
        results[name] = {"median_seconds": med, "all_seconds": times, "accuracy": acc,
                         "speedup_vs_sklearn": med["sklearn"] / med["maskfuse"]}  # fmt: skip
        print(name, json.dumps(results[name]["median_seconds"]), f"speed-up {results[name]['speedup_vs_sklearn']:.1f}x")
    out = Path(__file__).parent / "results" / "knn.json"
    payload = {"benchmark": "k-NN, 60k train x 10k test, Fashion-MNIST", "torch_threads": torch.get_num_threads(),
               "command": f"python benchmarks/knn.py --rounds {args.rounds}", "results": results}  # fmt: skip
    out.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
