"""Time series in a CSV or Parquet table, wide (one row per series) or long (one row per
observation).

A wide table is streamed once into a float32 array [N, T] (`table_encoding`, every
column but the label numeric), held when it fits in data.memory_mb, else kept in a
temporary file that batches read their rows from (`timeseries.series_rows`); the cells
are never held. A long table is streamed twice into an array [S, C, T] (`series_long`).
"""

from __future__ import annotations

from dataclasses import replace

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, source_path, split_indices
from maskfuse.data.columns import TableFile
from maskfuse.data.series_long import long_series
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
    table = TableFile(path)
    if cfg.series_format == "long":
        x, raw_y, notes = long_series(table, cfg, cfg.label_column if cfg.label_column in table.names else None)
        y, names = encode_labels(raw_y, str(path)) if raw_y is not None else (None, ())
        return own_or_fixed_split(x, y, None, cfg, source, names, notes)
    label = cfg.label_column if cfg.label_column in table.names else None
    if cfg.label_column and label is None:
        raise DataError(
            f"{path}: no label column '{cfg.label_column}'; columns: {', '.join(table.names)} "
            "(set data.label_column=null for unlabeled series)"
        )
    if cfg.split_column is not None and cfg.split_column not in table.names:
        raise DataError(f"{path}: no split column '{cfg.split_column}'; columns: {', '.join(table.names)}")
    steps = [n for n in table.names if n not in (label, cfg.split_column)]
    every_step_a_number = replace(cfg, categorical=(), numeric=tuple(steps))
    enc = encode_table(table, steps, label, every_step_a_number, finite=False)  # check_series names inf
    tr, te = enc.split or split_indices(len(enc.x), enc.y, cfg.test_fraction, cfg.split_seed, str(path))
    stored = enc.x if enc.mapped is None else enc.mapped
    notes = [] if enc.mapped is None else [f"encoded {len(enc.x)} series into {enc.mapped.path} to read them by row"]
    shape = (1, len(steps))
    split = {"train": (stored, tr, enc.y, str(path)), "test": (stored, te, enc.y, str(path))}
    return series_rows(split, shape, cfg, source, notes, enc.class_names)
