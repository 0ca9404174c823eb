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
from maskfuse.data.base import Splits, source_path
from maskfuse.data.npz_layout import Layout, layout
from maskfuse.data.timeseries import series_rows
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


def check(z: dict, key: str, path: Path) -> MappedArray | np.ndarray:
    x = z[key]
    if x.dtype.kind not in "uif" or x.ndim not in (2, 3):
        raise DataError(f"{path}: '{key}' must be numbers shaped [N, C, T] or [N, T], got {x.dtype} {list(x.shape)}")
    return x


@DATASETS.register("series-npz")
def load_npz(cfg: DataConfig) -> Splits:
    """Time series (and labels) from an .npz archive, with its own test split, a split
    array, or a seeded one (`npz_layout`)."""
    path = source_path(cfg.path, "npz file", "series-npz", folder=False)
    z, notes = npz_arrays(path, cfg.memory_mb)
    plan = layout(z, cfg.arrays, path, cfg.test_fraction, cfg.split_seed, {"series": lambda k: check(z, k, path)})
    return from_layout(z, plan, path, cfg, notes)


def from_layout(z: dict, plan: Layout, path: Path, cfg: DataConfig, notes: list[str]) -> Splits:
    """The series splits an archive's layout describes."""
    keys = {plan.train.key, plan.test.key}
    channels = {1 if z[k].ndim == 2 else z[k].shape[1] for k in keys}
    if len(channels) > 1:
        names = " and ".join(repr(k) for k in sorted(keys))
        raise DataError(f"{path}: {names} hold different numbers of channels {sorted(channels)}")
    shape = (channels.pop(), max(z[k].shape[-1] for k in keys))
    split = {name: (z[part.key], part.rows, part.labels, f"{path} ('{part.key}')")
             for name, part in (("train", plan.train), ("test", plan.test))}  # fmt: skip
    return series_rows(split, shape, cfg, f"series-npz ({path})", notes + plan.notes, plan.class_names)
