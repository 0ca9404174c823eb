"""Paired data: images and captions from a manifest, one shared embedding space (CLIP).

    python examples/paired_data.py [--tiny]

Writes a small manifest (PNG files and a caption per row, some captions missing), trains
the clip recipe on it and retrieves images from text. Your own pairs need only the CSV:
one row per instance, a column per modality, declared with data.modalities.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

import maskfuse

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def write_manifest(folder: Path, rows: int) -> Path:
    digits = load_digits()
    (folder / "img").mkdir(parents=True)
    with open(folder / "pairs.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["photo", "caption", "label"])
        for i in range(rows):
            Image.fromarray((digits.images[i] * 16).clip(0, 255).astype(np.uint8)).save(folder / "img" / f"{i}.png")
            caption = "" if i % 7 == 0 else f"a handwritten {WORDS[digits.target[i]]}"  # some rows lack text
            out.writerow([f"img/{i}.png", caption, int(digits.target[i])])
    return folder / "pairs.csv"


def main(tiny: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_manifest(Path(tmp) / "data", 300 if tiny else 1797)
        size = ["train.steps=10", "model.dim=32", "model.depth=2", "model.heads=2"] if tiny else ["train.steps=600"]
        cfg = maskfuse.resolve("clip", [
            "data.name=manifest", f"data.path={manifest}", "data.modalities=[photo:image,caption:text]",
            "train.progress=false", "eval.protocols=[knn]", *size,
        ])  # fmt: skip
        run = maskfuse.pretrain(cfg, f"{tmp}/run")
        report = maskfuse.evaluate(run)
    for pair, r in report["crossmodal"]["pretrained"]["retrieval"].items():
        init = report["crossmodal"]["random init"]["retrieval"][pair]
        print(f"{pair}: class R@1 {init['class_R@1']:.1f} % at random init -> {r['class_R@1']:.1f} % pretrained")
    return report


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="a seconds-long run, for tests")
    main(ap.parse_args().tiny)
