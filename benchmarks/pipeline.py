"""Data pipeline against the training step: how much of a step's wall time is the model.

Usage:
    .venv/bin/python benchmarks/pipeline.py [--steps 60] [--out benchmarks/results/pipeline.json]

Fashion-MNIST (60k training images, `apt-get install dataset-fashion-mnist`), the nano
trunk with 7x7 patches and batch 256 as in BENCHMARKS.md's quality table, for MAE and
SimCLR, read five ways: the in-memory source, WebDataset shards of it (written once by
`write_shards`, 10k samples each) read in the training process, the same shards read by
one DataLoader worker, the 70k images written as PNG files in class folders, decoded
on demand (`data.memory_mb=0`) in the process and by one worker, and the same images as
one uint8 .npz archive (`np.savez`), memory-mapped and converted by row on demand in
the process. Per step the script times
- load: waiting for the next batch from `train_batches` (what the loop does),
- augment: SimCLR's batched views, timed once more on the same batch (they run
  inside the step; MAE has none),
- step: `train_step` (forward, backward, AdamW).
Model share = (step - augment) / (load + step). The goal of issue 7 is >= 95 %.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from maskfuse.config import resolve
from maskfuse.data import load_data
from maskfuse.data.shards import write_shards
from maskfuse.distributed import World
from maskfuse.methods.build import build_method
from maskfuse.train.batches import train_batches
from maskfuse.train.loop import train_step
from maskfuse.train.optim import build_optimizer

ROOT = Path(__file__).resolve().parent.parent
COMMON = ["image.patch_size=7", "train.batch_size=256", "train.steps=100000", "model.size=nano"]


def measure(recipe: str, data: list[str], steps: int) -> dict:
    cfg = resolve(recipe, [*COMMON, *data])
    splits = load_data(cfg.data)
    model = build_method(cfg, splits.spec)
    opt = build_optimizer(model, cfg.train)
    batches = train_batches(splits.train, cfg, World(), 0, steps + 5, torch.device("cpu"))
    times = {"load": 0.0, "augment": 0.0, "step": 0.0}
    for step in range(steps + 5):
        t0 = time.perf_counter()
        batch = next(batches)
        t1 = time.perf_counter()
        views = getattr(model, "views", None)
        if views is not None:
            with torch.no_grad():
                for _ in range(model.num_views):
                    views(batch["image"])
        t2 = time.perf_counter()
        train_step(model, opt, batch, step, cfg)
        t3 = time.perf_counter()
        if step >= 5:  # after warm-up
            times["load"] += t1 - t0
            times["augment"] += t2 - t1
            times["step"] += t3 - t2
    per = {k: round(1e3 * v / steps, 2) for k, v in times.items()}
    share = (times["step"] - times["augment"]) / (times["load"] + times["step"])
    return {"ms_per_step": per, "model_share": round(share, 4), "img_per_s": round(256 * steps / sum(times.values()))}


def write_pngs(splits, root: Path) -> None:
    """Every image of both splits as an 8-bit PNG in its class folder."""
    for split in (splits.train, splits.test):
        pixels = (split.inputs[:, 0].numpy() * 255).round().astype(np.uint8)
        for i, (a, y) in enumerate(zip(pixels, split.labels.tolist())):
            folder = root / f"{y}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(a).save(folder / f"{len(split)}-{i:05d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pipeline.json"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        shards = Path(tmp) / "fmnist"
        t0 = time.perf_counter()
        write_shards(load_data(resolve(overrides=["data.name=fashion-mnist"]).data), shards, 10000)
        results["shard_write_s"] = round(time.perf_counter() - t0, 1)
        pngs = Path(tmp) / "fmnist-png"
        t0 = time.perf_counter()
        write_pngs(load_data(resolve(overrides=["data.name=fashion-mnist"]).data), pngs)
        results["png_write_s"] = round(time.perf_counter() - t0, 1)
        archive = Path(tmp) / "fmnist.npz"
        fm = load_data(resolve(overrides=["data.name=fashion-mnist"]).data)
        as_bytes = lambda x: (x[:, 0].numpy() * 255).round().astype(np.uint8)  # noqa: E731
        np.savez(archive, images=as_bytes(fm.train.inputs), labels=fm.train.labels.numpy(),
                 test_images=as_bytes(fm.test.inputs), test_labels=fm.test.labels.numpy())  # fmt: skip
        del fm
        folder = ["data.name=image-folder", f"data.path={pngs}", "data.memory_mb=0"]
        sources = {
            "in memory": ["data.name=fashion-mnist"],
            "shards, in process": ["data.name=webdataset", f"data.path={shards}"],
            "shards, 1 worker": ["data.name=webdataset", f"data.path={shards}", "data.workers=1"],
            "PNG folder on demand, in process": folder,
            "PNG folder on demand, 1 worker": [*folder, "data.workers=1"],
            "npz archive on demand, in process": ["data.name=npz", f"data.path={archive}", "data.memory_mb=0"],
        }
        for recipe in ("mae", "simclr"):
            for name, data in sources.items():
                results[f"{recipe} · {name}"] = row = measure(recipe, data, args.steps)
                print(f"{recipe} · {name}: {row}", flush=True)
    payload = {"benchmark": "Fashion-MNIST, nano trunk, patch 7, batch 256, 2 threads", "steps": args.steps,
               "results": results}  # fmt: skip
    Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
