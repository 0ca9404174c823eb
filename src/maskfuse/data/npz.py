"""Images in a NumPy .npz archive, with optional labels, optional per-token masking
scores and an optional own test split, read on demand when they do not fit in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.arrays import ArrayRows, ImageValues, MappedArray, npz_arrays
from maskfuse.data.base import DataSpec, Splits, class_count, source_path, split_indices
from maskfuse.data.ondemand import settle
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


def _images(arr: MappedArray | np.ndarray, path: Path, key: str) -> tuple[int, ...]:
    """The float32 shape [C, H, W] one sample of `arr` ([N, H, W] or [N, C, H, W], uint8
    0-255 or float 0-1) converts to."""
    if arr.ndim not in (3, 4):
        raise DataError(f"{path}: '{key}' must be [N, H, W] or [N, C, H, W], got shape {list(arr.shape)}")
    if arr.dtype.kind not in "uif":
        raise DataError(f"{path}: '{key}' has dtype {arr.dtype}; expected uint8 or float")
    if not len(arr):
        raise DataError(f"{path}: '{key}' holds no images")
    return tuple(int(s) for s in (arr.shape[1:] if arr.ndim == 4 else (1, *arr.shape[1:])))


def _labels(z: dict, key: str, n: int, path: Path) -> np.ndarray | None:
    if key not in z:
        return None
    y = np.asarray(z[key][()])
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{path}: '{key}' must be a vector of {n} labels, got shape {list(y.shape)}")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise DataError(f"{path}: '{key}' must hold non-negative integer class ids, got dtype {y.dtype}")
    return y.astype(np.int64)


@DATASETS.register("npz")
def load(cfg: DataConfig) -> Splits:
    """Keys: `images` (required), `labels`, and optionally `test_images` / `test_labels`.

    Images stay in the archive (memory-mapped, see `arrays`) and are held converted only
    when both splits fit in data.memory_mb."""
    path = source_path(cfg.path, "npz file", "npz", folder=False)
    z, notes = npz_arrays(path, cfg.memory_mb)
    if "images" not in z:
        raise DataError(f"{path}: no 'images' array; found {sorted(z)}")
    shape = _images(z["images"], path, "images")
    if cfg.channels is not None and shape[0] != cfg.channels:
        raise DataError(f"{path}: 'images' has {shape[0]} channels, data.channels expects {cfg.channels}")
    y = _labels(z, "labels", len(z["images"]), path)
    scores = _scores(z, "mask_scores", len(z["images"]), path)
    split = {}
    if "test_images" in z:
        if _images(z["test_images"], path, "test_images") != shape:
            raise DataError(f"{path}: 'test_images' {list(z['test_images'].shape[1:])} differ from 'images'")
        te_y = _labels(z, "test_labels", len(z["test_images"]), path)
        te_scores = _scores(z, "test_mask_scores", len(z["test_images"]), path)
        if (scores is None) != (te_scores is None):
            raise DataError(f"{path}: give both 'mask_scores' and 'test_mask_scores', or neither")
        split["train"] = ("images", np.arange(len(z["images"])), y, scores)
        split["test"] = ("test_images", np.arange(len(z["test_images"])), te_y, te_scores)
    else:
        tr, te = split_indices(len(z["images"]), y, cfg.test_fraction, cfg.split_seed)
        split["train"] = ("images", tr, _rows(y, tr), scores)
        split["test"] = ("images", te, _rows(y, te), scores)

    def rows(key: str, idx: np.ndarray, labels: np.ndarray | None, extra: np.ndarray | None) -> ArrayRows:
        extras = {} if extra is None else {"mask_scores": extra}
        labels = None if labels is None else torch.as_tensor(labels)
        return ArrayRows(z[key], idx, ImageValues(path, key), shape, "image", labels, extras)

    train, test, mean, std = settle(rows(*split["train"]), rows(*split["test"]), cfg.memory_mb)
    num_classes = class_count(split["train"][2], split["test"][2])
    spec = DataSpec(modality="image", shape=shape, mean=mean, std=std, num_classes=num_classes)
    return Splits(train, test, spec, f"npz ({path})", notes)


def _rows(a: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    return None if a is None else a[idx]


def _scores(z: dict, key: str, n: int, path: Path) -> np.ndarray | None:
    """Optional per-token masking scores [N, tokens] for the guided sampler."""
    if key not in z:
        return None
    s = np.asarray(z[key][()])
    if s.ndim != 2 or len(s) != n or not np.issubdtype(s.dtype, np.number):
        raise DataError(f"{path}: '{key}' must be numbers shaped [{n}, tokens], got {s.dtype} {list(s.shape)}")
    if not np.isfinite(s).all():
        raise DataError(f"{path}: '{key}' holds NaN or infinite values")
    return s.astype(np.float32)
