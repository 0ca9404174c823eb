"""Embed a dataset with a pretrained encoder and carry on in pandas and scikit-learn.

    python examples/embed_to_pandas.py [--tiny]

`maskfuse embed RUN --out emb.parquet` does the same from the command line (with each row's
file and class beside its embedding); here the Python API hands back a numpy array.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

import maskfuse


def main(tiny: bool = False) -> pd.DataFrame:
    steps = ["train.steps=10", "model.dim=32", "model.depth=2", "model.heads=2"] if tiny else ["train.steps=800"]
    cfg = maskfuse.resolve("simclr", ["data.name=digits", "train.progress=false", *steps])
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # [N, 1, 8, 8] in [0, 1], as maskfuse reads them
    with tempfile.TemporaryDirectory() as tmp:
        encoder = maskfuse.load(maskfuse.pretrain(cfg, f"{tmp}/run"))
        z = encoder.embed(images)  # [N, D] pooled embeddings
    frame = pd.DataFrame(z, columns=[f"e{i}" for i in range(z.shape[1])]).assign(label=digits.target)
    score = cross_val_score(LogisticRegression(max_iter=2000), frame.drop(columns="label"), frame.label, cv=3)
    print(f"{len(frame)} rows x {z.shape[1]} features; 3-fold logistic regression {100 * score.mean():.1f} %")
    print(frame.groupby("label").mean().iloc[:, :4].round(3))
    return frame


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="a seconds-long run, for tests")
    main(ap.parse_args().tiny)
