"""Time series in a NumPy .npz archive, read by row when they do not fit in memory.

Keys: `series` [N, C, T] or [N, T] (NaN-padded at the end when lengths differ),
optional `labels`, and optionally `test_series` / `test_labels`. The arrays stay in
the archive (memory-mapped, see `arrays`); each batch cuts or NaN-pads its rows to the
common length and checks them as `timeseries.check_series` does, naming a bad row by
its index in the archive (`timeseries.series_rows`). Both splits are held converted
when they fit in data.memory_mb, else the statistics come from `STAT_ROWS` rows spread
over the training split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.arrays import MappedArray, npz_arrays
from maskfuse.data.base import Splits, source_path, split_indices
from maskfuse.data.timeseries import series_rows
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


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
    shape = (channels.pop(), length)
    split = {name: (z[key], rows, labels, f"{path} ('{key}')") for name, (key, rows, labels) in split.items()}
    return series_rows(split, shape, cfg, f"series-npz ({path})", notes)
