"""Images in a NumPy .npz archive, with optional labels and an optional own test split."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, image_splits, source_path, split_indices
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


def _images(arr: np.ndarray, path: Path, key: str) -> np.ndarray:
    """[N, H, W] or [N, C, H, W] (uint8 0-255 or float 0-1) -> float32 [N, C, H, W]."""
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise DataError(f"{path}: '{key}' must be [N, H, W] or [N, C, H, W], got shape {list(arr.shape)}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{path}: '{key}' has dtype {arr.dtype}; expected uint8 or float")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise DataError(f"{path}: '{key}' holds NaN or infinite values")
    return arr


def _labels(z: dict, key: str, n: int, path: Path) -> np.ndarray | None:
    if key not in z:
        return None
    y = z[key]
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{path}: '{key}' must be a vector of {n} labels, got shape {list(y.shape)}")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise DataError(f"{path}: '{key}' must hold non-negative integer class ids, got dtype {y.dtype}")
    return y.astype(np.int64)


@DATASETS.register("npz")
def load(cfg: DataConfig) -> Splits:
    """Keys: `images` (required), `labels`, and optionally `test_images` / `test_labels`."""
    path = source_path(cfg.path, "npz file", "npz", folder=False)
    try:
        with np.load(path, allow_pickle=False) as archive:
            z = {k: archive[k] for k in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npz archive, perhaps truncated ({err})") from err
    if "images" not in z:
        raise DataError(f"{path}: no 'images' array; found {sorted(z)}")
    x = _images(z["images"], path, "images")
    if cfg.channels is not None and x.shape[1] != cfg.channels:
        raise DataError(f"{path}: 'images' has {x.shape[1]} channels, data.channels expects {cfg.channels}")
    y = _labels(z, "labels", len(x), path)
    scores = _scores(z, "mask_scores", len(x), path)
    if "test_images" in z:
        te_x = _images(z["test_images"], path, "test_images")
        te_y = _labels(z, "test_labels", len(te_x), path)
        te_scores = _scores(z, "test_mask_scores", len(te_x), path)
        if (scores is None) != (te_scores is None):
            raise DataError(f"{path}: give both 'mask_scores' and 'test_mask_scores', or neither")
        splits = image_splits(x, y, te_x, te_y, f"npz ({path})")
    else:
        tr, te = split_indices(len(x), y, cfg.test_fraction, cfg.split_seed)
        splits = image_splits(x[tr], _rows(y, tr), x[te], _rows(y, te), f"npz ({path})")
        scores, te_scores = _rows(scores, tr), _rows(scores, te)
    if scores is not None:
        splits.train.extras["mask_scores"] = torch.as_tensor(scores)
        splits.test.extras["mask_scores"] = torch.as_tensor(te_scores)
    return splits


def _rows(a: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
    return None if a is None else a[idx]


def _scores(z: dict, key: str, n: int, path: Path) -> np.ndarray | None:
    """Optional per-token masking scores [N, tokens] for the guided sampler."""
    if key not in z:
        return None
    s = z[key]
    if s.ndim != 2 or len(s) != n or not np.issubdtype(s.dtype, np.number):
        raise DataError(f"{path}: '{key}' must be numbers shaped [{n}, tokens], got {s.dtype} {list(s.shape)}")
    if not np.isfinite(s).all():
        raise DataError(f"{path}: '{key}' holds NaN or infinite values")
    return s.astype(np.float32)
