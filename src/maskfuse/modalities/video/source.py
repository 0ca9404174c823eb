"""The data source "clips": video clips from an .npz / .npy archive.

An archive holds `clips` [N, T, H, W] (grey) or [N, T, C, H, W] (uint8 0-255, or float
values), with optional `labels`, `classes` and a `test_clips` / `test_labels` pair or a
`split` array; data.arrays names them otherwise. Clips are held as [C, T, H, W].
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
    """The [C, T, H, W] one row of `arr` reads as; anything but [N, T, H, W] or
    [N, T, C, H, W] numbers is an error naming the array."""
    check_rows(arr, path, key, (4, 5), "[N, T, H, W] or [N, T, C, H, W]", "clips")
    t, *rest = arr.shape[1:]
    c, h, w = rest if arr.ndim == 5 else (1, *rest)
    return int(c), int(t), int(h), int(w)


def channels_first(values: np.ndarray) -> np.ndarray:
    """Stored rows [n, T, H, W] or [n, T, C, H, W] (float32) -> [n, C, T, H, W]. Values keep
    their scale (uint8: 0-255); the tokenizer standardises with the training statistics."""
    return values[:, None] if values.ndim == 4 else np.ascontiguousarray(values.transpose(0, 2, 1, 3, 4))


SOURCES["clips"] = "clips"  # `--data x.npz` holding a 'clips' array reads here


@DATASETS.register("clips")
def load(cfg: DataConfig) -> Splits:
    """Clips with optional labels and split, read on demand when they do not fit in memory."""
    return archive_splits(cfg, "clips", "video", check, channels_first)


def contract_example() -> tuple[Splits, list[str]]:
    """Small synthetic clips for the contract tests: 48 clips of 4 frames of 8 x 8 in which a
    bright square moves right, down or not at all (3 classes), and settings that keep them
    cheap (2 x 2 x 2 = 8 tubelets)."""
    rng = np.random.default_rng(0)
    clips = np.zeros((48, 1, 4, 8, 8), np.float32)
    for i in range(48):
        r, c = rng.integers(0, 4, size=2)
        dr, dc = [(0, 1), (1, 0), (0, 0)][i % 3]
        for t in range(4):
            clips[i, 0, t, r + dr * t : r + dr * t + 3, c + dc * t : c + dc * t + 3] = 1.0
    x, labels = torch.as_tensor(clips), torch.as_tensor(np.arange(48) % 3)
    spec = DataSpec("video", (1, 4, 8, 8), (float(x.mean()),), (float(x.std()),), 3, ("right", "down", "still"))
    train, test = ArrayDataset(x[:32], labels[:32], "video"), ArrayDataset(x[32:], labels[32:], "video")
    return Splits(train, test, spec, "synthetic clips"), ["video.patch_size=4"]
