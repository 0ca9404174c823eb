"""Time series in a NumPy .npz archive, read by row when they do not fit in memory.

Keys: `series` [N, C, T] or [N, T] (NaN-padded at the end when lengths differ),
optional `labels`, and optionally `test_series` / `test_labels`. The arrays stay in
the archive (memory-mapped, see `arrays`); each batch cuts or NaN-pads its rows to the
common length and checks them as `timeseries.check_series` does, naming a bad row by
its index in the archive. Both splits are held converted when they fit in
data.memory_mb, else the statistics come from `STAT_ROWS` rows spread over the
training split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.arrays import ArrayRows, MappedArray, npz_arrays
from maskfuse.data.base import DataSpec, Splits, class_count, source_path, split_indices
from maskfuse.data.ondemand import settle
from maskfuse.data.timeseries import check_series, cut_or_pad
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

CHECK_ROWS = 4096  # rows read at a time by the data.on_error=skip pass


@dataclass
class SeriesValues:
    """Stored series rows -> float32 [n, C, length], cut or NaN-padded at the end."""

    path: Path
    key: str
    length: int

    def shaped(self, values: np.ndarray) -> np.ndarray:
        return cut_or_pad(values[:, None] if values.ndim == 2 else values, self.length)

    def __call__(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        x = self.shaped(values)
        check_series(x, f"{self.path} ('{self.key}')", skip=False, rows=rows)
        return x


def _series(z: dict, key: str, path: Path) -> MappedArray | np.ndarray:
    x = z[key]
    if x.dtype.kind not in "uif" or x.ndim not in (2, 3):
        raise DataError(f"{path}: '{key}' must be numbers shaped [N, C, T] or [N, T], got {x.dtype} {list(x.shape)}")
    return x


def _labels(z: dict, key: str, n: int, path: Path) -> np.ndarray | None:
    if key not in z:
        return None
    y = np.asarray(z[key][()])
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or (y < 0).any():
        raise DataError(f"{path}: '{key}' must be {n} non-negative integer labels, got {y.dtype} {y.shape}")
    return y.astype(np.int64)


def _good_rows(x, rows: np.ndarray, convert: SeriesValues) -> np.ndarray:
    """The rows that pass `check_series`, read `CHECK_ROWS` at a time (data.on_error=skip)."""
    good = []
    for lo in range(0, len(rows), CHECK_ROWS):
        part = np.sort(rows[lo : lo + CHECK_ROWS])
        good.append(part[check_series(convert.shaped(x[part]), "", skip=True)])
    return np.concatenate(good)


@DATASETS.register("series-npz")
def load_npz(cfg: DataConfig) -> Splits:
    """Time series (and labels) from an .npz archive, with its own test split or a seeded one."""
    path = source_path(cfg.path, "npz file", "series-npz", folder=False)
    z, notes = npz_arrays(path, cfg.memory_mb)
    if "series" not in z:
        raise DataError(f"{path}: no 'series' array; found {sorted(z)}")
    x = _series(z, "series", path)
    y = _labels(z, "labels", len(x), path)
    if "test_series" in z:
        te_x = _series(z, "test_series", path)
        te_y = _labels(z, "test_labels", len(te_x), path)
        split = {"train": ("series", np.arange(len(x)), y), "test": ("test_series", np.arange(len(te_x)), te_y)}
    else:
        tr, te = split_indices(len(x), y, cfg.test_fraction, cfg.split_seed)
        split = {"train": ("series", tr, y), "test": ("series", te, y)}
    keys = {k for k, _, _ in split.values()}
    channels = {1 if z[k].ndim == 2 else z[k].shape[1] for k in keys}
    if len(channels) > 1:
        raise DataError(f"{path}: 'series' and 'test_series' hold different numbers of channels {sorted(channels)}")
    length = max(z[k].shape[-1] for k in keys)
    shape = (channels.pop(), length if cfg.max_length is None else min(length, cfg.max_length))
    parts = {}
    for name, (key, rows, labels) in split.items():
        convert = SeriesValues(path, key, shape[1])
        keep = _good_rows(z[key], rows, convert) if cfg.on_error == "skip" else rows
        if len(keep) < len(rows):
            notes.append(f"skipped {len(rows) - len(keep)} bad {name} series")
        # archives often come sorted by class: one seeded shuffle, so data.max_train keeps a fair sample
        keep = np.random.default_rng(cfg.split_seed).permutation(keep)
        kept_labels = None if labels is None else torch.as_tensor(labels[keep])
        parts[name] = ArrayRows(z[key], keep, convert, shape, "timeseries", kept_labels)
    if not len(parts["train"]):
        raise DataError(f"series-npz ({path}): no usable training series")
    num_classes = class_count(parts["train"].labels, parts["test"].labels)
    train, test, mean, std = settle(parts["train"], parts["test"], cfg.memory_mb)
    spec = DataSpec("timeseries", shape, mean, std, num_classes)
    return Splits(train, test, spec, f"series-npz ({path})", notes)
