"""The data source "volumes": 3-D arrays from an .npz / .npy archive.

An archive holds `volumes` [N, D, H, W] or [N, C, D, H, W] (any numeric dtype, read as
float values), with optional `labels`, `classes` and a `test_volumes` / `test_labels` pair
or a `split` array; archives made elsewhere name their arrays with data.arrays, e.g.
ModelNet10's voxel grids: data.arrays=[volumes:X_train,labels:y_train,
test_volumes:X_test,test_labels:y_test].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.arrays import MappedArray
from maskfuse.data.base import ArrayDataset, Splits
from maskfuse.data.npz import archive_splits, check_rows
from maskfuse.data.npz_layout import SOURCES
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec


def check(arr: MappedArray | np.ndarray, path: Path, key: str) -> tuple[int, ...]:
    """The [C, D, H, W] one row of `arr` reads as; anything but [N, D, H, W] or
    [N, C, D, H, W] numbers is an error naming the array."""
    check_rows(arr, path, key, (4, 5), "[N, D, H, W] or [N, C, D, H, W]", "volumes")
    return tuple(int(s) for s in (arr.shape[1:] if arr.ndim == 5 else (1, *arr.shape[1:])))


def add_channel(values: np.ndarray) -> np.ndarray:
    """[n, D, H, W] -> [n, 1, D, H, W]; rows that have their channels already pass."""
    return values[:, None] if values.ndim == 4 else values


SOURCES["volumes"] = "volumes"  # `--data x.npz` holding a 'volumes' array reads here


@DATASETS.register("volumes")
def load(cfg: DataConfig) -> Splits:
    """Volumes with optional labels and split, read on demand when they do not fit in memory."""
    return archive_splits(cfg, "volumes", "volume", check, add_channel)


def contract_example() -> tuple[Splits, list[str]]:
    """Small synthetic volumes for the contract tests (tests/test_contracts.py): 48 grids of
    12^3 holding a ball, a box or a bar (3 classes) at random places, and the settings that
    keep them cheap (27 tokens)."""
    rng = np.random.default_rng(0)
    d = np.arange(12)
    zz, yy, xx = np.meshgrid(d, d, d, indexing="ij")
    grids = np.zeros((48, 1, 12, 12, 12), np.float32)
    for i in range(48):
        c = rng.integers(3, 9, size=3)
        r = [np.sqrt((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) < 3,
             (abs(zz - c[0]) < 3) & (abs(yy - c[1]) < 3) & (abs(xx - c[2]) < 3),
             (abs(zz - c[0]) < 5) & (abs(yy - c[1]) < 1.5) & (abs(xx - c[2]) < 1.5)][i % 3]  # fmt: skip
        grids[i, 0] = r
    labels = torch.as_tensor(np.arange(48) % 3)
    x = torch.as_tensor(grids)
    spec = DataSpec("volume", (1, 12, 12, 12), (float(x.mean()),), (float(x.std()),), 3, ("ball", "box", "bar"))
    train, test = ArrayDataset(x[:32], labels[:32], "volume"), ArrayDataset(x[32:], labels[32:], "volume")
    return Splits(train, test, spec, "synthetic volumes"), ["volume.patch_size=4"]
