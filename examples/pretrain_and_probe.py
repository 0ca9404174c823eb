"""Pretrain an encoder on unlabeled images, then probe it against the raw pixels.

    python examples/pretrain_and_probe.py            # about 2 minutes on 2 CPU cores
    python examples/pretrain_and_probe.py --tiny     # seconds: what the test suite runs

The digits are scikit-learn's bundled 8x8 images; point `data.path` at a folder of your
own images (data.name=image-folder) and nothing else changes.
"""

from __future__ import annotations

import argparse
import tempfile

import maskfuse


def main(tiny: bool = False) -> dict:
    overrides = ["data.name=digits", "train.progress=false", "train.steps=1500"]
    if tiny:  # a few steps of a very small model: checks the path, not the accuracy
        overrides += ["train.steps=10", "model.dim=32", "model.depth=2", "model.heads=2", "decoder.dim=32",
                      "data.max_train=300", "data.max_test=100", "eval.protocols=[knn,linear]"]  # fmt: skip
    cfg = maskfuse.resolve("mae", overrides)
    with tempfile.TemporaryDirectory() as tmp:
        run = maskfuse.pretrain(cfg, f"{tmp}/run")
        report = maskfuse.evaluate(run)  # the pretrained encoder, its random init and the raw input
    for row in ("raw input", "random init", "pretrained"):
        knn, linear = (report["results"][row][p]["top1"] for p in ("knn", "linear"))
        print(f"{row:12s} k-NN {100 * knn:5.1f} %   linear probe {100 * linear:5.1f} %")
    return report


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="a seconds-long run, for tests")
    main(ap.parse_args().tiny)
