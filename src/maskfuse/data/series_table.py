"""Time series in a CSV or Parquet table, wide (one row per series) or long (one row per
observation).

A wide table is streamed once into a float32 array [N, T] (`table_encoding`, every
column but the label numeric), held when it fits in data.memory_mb, else kept in a
temporary file that batches read their rows from (`timeseries.series_rows`); the cells
are never held. A long table is read whole, since a series' rows may lie anywhere in it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, source_path, split_indices
from maskfuse.data.columns import TableFile, read_columns
from maskfuse.data.table_encoding import encode_table
from maskfuse.data.timeseries import encode_labels, own_or_fixed_split, series_rows
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


@DATASETS.register("series-table")
def load_table(cfg: DataConfig) -> Splits:
    """CSV or Parquet. Wide form: one row per series, every column but data.label_column is
    a time step (empty trailing cells = a shorter series). Long form: data.id_column,
    data.time_column, data.value_column (and data.channel_column) rows."""
    path = source_path(cfg.path, "CSV or Parquet file", "series-table", folder=False)
    source = f"series-table ({path})"
    if cfg.series_format == "long":
        cols = read_columns(path)
        label = cfg.label_column if cfg.label_column in cols.names else None
        x, raw_y = _long_form(cols, cfg, label)
        y, names = encode_labels(raw_y, str(path)) if raw_y is not None else (None, ())
        return own_or_fixed_split(x, y, None, cfg, source, names)
    table = TableFile(path)
    label = cfg.label_column if cfg.label_column in table.names else None
    if cfg.label_column and label is None:
        raise DataError(
            f"{path}: no label column '{cfg.label_column}'; columns: {', '.join(table.names)} "
            "(set data.label_column=null for unlabeled series)"
        )
    steps = [n for n in table.names if n != label]
    every_step_a_number = replace(cfg, categorical=(), numeric=tuple(steps))
    enc = encode_table(table, steps, label, every_step_a_number, finite=False)  # check_series names inf
    tr, te = split_indices(len(enc.x), enc.y, cfg.test_fraction, cfg.split_seed)
    stored = enc.x if enc.mapped is None else enc.mapped
    notes = [] if enc.mapped is None else [f"encoded {len(enc.x)} series into {enc.mapped.path} to read them by row"]
    shape = (1, len(steps) if cfg.max_length is None else min(len(steps), cfg.max_length))
    split = {"train": (stored, tr, enc.y, str(path)), "test": (stored, te, enc.y, str(path))}
    return series_rows(split, shape, cfg, source, notes, enc.class_names)


def _long_form(cols, cfg: DataConfig, label: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    ids = cols.column(cfg.id_column, "series id")
    time = cols.numeric(cfg.time_column)
    value = cols.numeric(cfg.value_column)
    channel = cols.column(cfg.channel_column, "channel") if cfg.channel_column else np.zeros(len(ids), dtype=object)
    if np.isnan(time).any():
        raise DataError(f"{cols.row_name(int(np.argmax(np.isnan(time))))}: missing time in '{cfg.time_column}'")
    series_ids = list(dict.fromkeys(ids.tolist()))
    channels = sorted(set(channel.tolist()), key=str)
    where = {s: i for i, s in enumerate(series_ids)}
    cpos = {c: i for i, c in enumerate(channels)}
    rows: dict[tuple, list] = {}
    for r in range(len(ids)):
        rows.setdefault((where[ids[r]], cpos[channel[r]]), []).append((time[r], value[r], r))
    length = max(len(v) for v in rows.values())
    x = np.full((len(series_ids), len(channels), length), np.nan, dtype=np.float32)
    for (s, c), points in rows.items():
        points.sort(key=lambda p: p[0])
        times = [p[0] for p in points]
        if len(set(times)) < len(times):
            dup = next(q for p, q in zip(points, points[1:]) if p[0] == q[0])
            raise DataError(f"{cols.row_name(dup[2])}: series {series_ids[s]!r} has two values at time {dup[0]}")
        x[s, c, : len(points)] = [p[1] for p in points]
    raw_y = None
    if label is not None:
        labels = cols.column(label, "labels")
        raw_y = np.empty(len(series_ids), dtype=object)
        for r in range(len(ids)):
            s = where[ids[r]]
            if raw_y[s] is not None and raw_y[s] != labels[r]:
                raise DataError(f"{cols.row_name(r)}: series {ids[r]!r} has two labels, {raw_y[s]!r} and {labels[r]!r}")
            raw_y[s] = labels[r]
    return x, raw_y
