"""Table sources: CSV or Parquet with a named label column, and scikit-learn's wine and
breast-cancer sets.

Column kinds are inferred (numeric when every present cell parses as a number) and can
be forced with data.categorical / data.numeric. Categories and the robust scaling are
fitted on the training split only; a category the training split never saw is an error
naming its row and column (or the row is skipped, with data.on_error=skip).

A file is streamed once, a chunk of rows at a time, into one float32 array
(`table_encoding`): the cells are never held. That array is held when it fits in
data.memory_mb, else it lives in a temporary file and batches read their rows from it
(`arrays.ArrayRows`); its scaling is then fitted on up to SCALING_ROWS training rows.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_wine

from maskfuse.config import DataConfig
from maskfuse.data.arrays import ArrayRows, as_float32
from maskfuse.data.base import ArrayDataset, Splits, source_path, split_indices
from maskfuse.data.columns import Columns, TableFile
from maskfuse.data.table_encoding import Table, encode_table, robust_scaling, training_categories
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec

SCALING_ROWS = 1 << 18  # training rows the robust scaling of a table read by row is fitted on


def table_splits(table: Table, cfg: DataConfig, source: str) -> Splits:
    """The table encoded in one pass (`encode_table`), split, its categories fitted on the
    training rows; held in memory when it fits in data.memory_mb, else read by row from
    the temporary file it was encoded into."""
    label, split = cfg.label_column, cfg.split_column
    for column, what in ((label, "label"), (split, "split")):
        if column is not None and column not in table.names:
            raise DataError(
                f"{table.path}: no {what} column '{column}'; columns: {', '.join(table.names)} "
                f"(set data.{what}_column to one of them, or null for none)"
            )
    features = [n for n in table.names if n not in (label, split)]
    if not features:
        raise DataError(f"{table.path}: no feature columns besides the label")
    enc = encode_table(table, features, label, cfg)
    y, rows = enc.y, len(enc.x)
    tr, te = enc.split or split_indices(rows, y, cfg.test_fraction, cfg.split_seed, str(table.path))
    rng = np.random.default_rng(cfg.split_seed)  # sources often come sorted: keep caps fair
    tr, te = rng.permutation(tr), rng.permutation(te)
    train = np.zeros(rows, bool)
    train[tr] = True
    categories, unseen = training_categories(enc, train, table, features, cfg.on_error == "skip")
    notes = [f"column '{features[j]}' holds numbers but is read as categories: {cell}, not a number "
             f"(data.numeric=[{features[j]}] makes such a cell an error)" for j, cell in enc.mixed.items()]  # fmt: skip
    if unseen.any():
        notes.append(f"skipped {int(unseen.sum())} test rows with categories unseen in training")
    te = te[~unseen[te]]
    held = enc.mapped is None
    fit_rows = tr if held else np.sort(tr)[np.linspace(0, len(tr) - 1, min(len(tr), SCALING_ROWS)).astype(np.int64)]
    center, scale = robust_scaling(enc.x, enc.kinds, fit_rows)
    if not held:
        enc.x.flush()
        notes.append(
            f"encoded {rows} rows into {enc.mapped.path} ({enc.x.nbytes / 2**20:.0f} MiB, over data.memory_mb) "
            f"to read them by row; scaling fitted on {len(fit_rows)} training rows"
        )
    meta = {"encoding": {"columns": features, "kinds": enc.kinds, "categories": categories},
            "center": center, "scale": scale}  # fmt: skip
    names = enc.class_names
    spec = DataSpec("table", (len(features),), (0.0,), (1.0,), len(names) or None, names, meta)

    def wrap(idx: np.ndarray) -> ArrayDataset | ArrayRows:
        labels = None if y is None else torch.as_tensor(y[idx])
        if held:
            return ArrayDataset(torch.as_tensor(enc.x[idx]), labels, "table")
        return ArrayRows(enc.mapped, idx, as_float32, (len(features),), "table", labels)

    return Splits(wrap(tr), wrap(te), spec, source, notes)


@DATASETS.register("table")
def load_table(cfg: DataConfig) -> Splits:
    """A CSV / Parquet table: one row per sample, data.label_column holds the label."""
    path = source_path(cfg.path, "CSV or Parquet table", "table", folder=False)
    return table_splits(TableFile(path), cfg, f"table ({path})")


def _sklearn(bunch, cfg: DataConfig, name: str) -> Splits:
    if cfg.path:
        raise DataError(f"data.name={name} is built in and reads no file; for {cfg.path} use data.name=table")
    data = {n: np.asarray(bunch.data[:, j], dtype=object) for j, n in enumerate(bunch.feature_names)}
    data["label"] = np.asarray(bunch.target, dtype=object)
    cols = Columns(f"{name} (scikit-learn)", data, first_row=0)
    splits = table_splits(cols, DataConfig(**{**cfg.__dict__, "label_column": "label"}), f"{name} (scikit-learn)")
    names = tuple(str(n) for n in bunch.target_names)
    splits.spec = DataSpec(**{**splits.spec.__dict__, "class_names": names})
    return splits


@DATASETS.register("wine")
def load_wine_set(cfg: DataConfig) -> Splits:
    """178 wines, 13 chemical measurements, 3 cultivars (scikit-learn's copy of the UCI set)."""
    return _sklearn(load_wine(), cfg, "wine")


@DATASETS.register("breast-cancer")
def load_breast_cancer_set(cfg: DataConfig) -> Splits:
    """569 tumours, 30 numeric features, malignant or benign (Wisconsin diagnostic set)."""
    return _sklearn(load_breast_cancer(), cfg, "breast-cancer")
