"""Table sources: CSV or Parquet with a named label column, and scikit-learn's wine and
breast-cancer sets.

Column kinds are inferred (numeric when every present cell parses as a number) and can
be forced with data.categorical / data.numeric. Categories and the robust scaling are
fitted on the training split only; a category the training split never saw is an error
naming its row and column (or the row is skipped, with data.on_error=skip).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_wine

from maskfuse.config import DataConfig
from maskfuse.data.base import ArrayDataset, DataSpec, Splits, source_path, split_indices
from maskfuse.data.columns import Columns, read_columns, to_float
from maskfuse.data.timeseries import encode_labels
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


def _is_number(cell) -> bool:
    try:
        to_float(cell, lambda: "")
        return True
    except DataError:
        return False


def column_kinds(cols: Columns, features: list[str], cfg: DataConfig) -> list[str]:
    for name in (*cfg.categorical, *cfg.numeric):
        if name not in features:
            raise DataError(f"{cols.path}: data.categorical / data.numeric name '{name}', not a feature column")
    kinds = []
    for name in features:
        if name in cfg.categorical:
            kinds.append("categorical")
        elif name in cfg.numeric or all(_is_number(c) for c in cols.data[name] if c is not None):
            kinds.append("numeric")
        else:
            kinds.append("categorical")
    return kinds


def table_splits(cols: Columns, cfg: DataConfig, source: str) -> Splits:
    label = cfg.label_column
    if label is not None and label not in cols.names:
        raise DataError(
            f"{cols.path}: no label column '{label}'; columns: {', '.join(cols.names)} "
            "(set data.label_column to one of them, or null for an unlabeled table)"
        )
    features = [n for n in cols.names if n != label]
    if not features:
        raise DataError(f"{cols.path}: no feature columns besides the label")
    kinds = column_kinds(cols, features, cfg)
    y, class_names = (None, ())
    if label is not None:
        raw = cols.data[label]
        blank = [i for i, v in enumerate(raw) if v is None]
        if blank:
            raise DataError(f"{cols.row_name(blank[0])}: missing label in column '{label}'")
        y, class_names = encode_labels(raw, str(cols.path))
    tr, te = split_indices(len(cols), y, cfg.test_fraction, cfg.split_seed)
    rng = np.random.default_rng(cfg.split_seed)  # sources often come sorted: keep caps fair
    tr, te = rng.permutation(tr), rng.permutation(te)
    x = np.full((len(cols), len(features)), np.nan, dtype=np.float32)
    categories: dict[str, list[str]] = {}
    bad_rows: set[int] = set()
    for j, (name, kind) in enumerate(zip(features, kinds)):
        if kind == "numeric":
            x[:, j] = cols.numeric(name)
            continue
        cells = cols.data[name]
        seen = sorted({str(cells[i]) for i in tr if cells[i] is not None})
        categories[name] = seen
        index = {c: k for k, c in enumerate(seen)}
        for i, cell in enumerate(cells):
            if cell is None:
                continue
            if str(cell) not in index:
                if cfg.on_error != "skip":
                    raise DataError(
                        f"{cols.row_name(i)}, column '{name}': category {str(cell)!r} never occurs in the "
                        f"training split (known: {seen[:8]}); data.on_error=skip drops such rows"
                    )
                bad_rows.add(i)
                continue
            x[i, j] = index[str(cell)]
    notes = [f"skipped {len(bad_rows)} test rows with categories unseen in training"] if bad_rows else []
    te = np.asarray([i for i in te if i not in bad_rows], dtype=np.int64)
    if np.isinf(x).any():
        i, j = map(int, np.argwhere(np.isinf(x))[0])
        raise DataError(f"{cols.row_name(i)}, column '{features[j]}': infinite value")
    center, scale = [], []
    for j, kind in enumerate(kinds):
        col = x[tr, j]
        col = col[~np.isnan(col)]
        if kind == "categorical" or len(col) == 0:
            center.append(0.0)
            scale.append(1.0)
            continue
        q25, med, q75 = np.percentile(col, [25, 50, 75])
        spread = q75 - q25 if q75 > q25 else (col.std() if col.std() > 0 else 1.0)
        center.append(float(med))
        scale.append(float(spread))
    meta = {"encoding": {"columns": features, "kinds": kinds, "categories": categories},
            "center": center, "scale": scale}  # fmt: skip
    spec = DataSpec("table", (len(features),), (0.0,), (1.0,), len(class_names) or None, class_names, meta)

    def wrap(idx: np.ndarray) -> ArrayDataset:
        return ArrayDataset(torch.as_tensor(x[idx]), None if y is None else torch.as_tensor(y[idx]), "table")

    return Splits(wrap(tr), wrap(te), spec, source, notes)


@DATASETS.register("table")
def load_table(cfg: DataConfig) -> Splits:
    """A CSV / Parquet table: one row per sample, data.label_column holds the label."""
    path = source_path(cfg.path, "CSV or Parquet table", "table", folder=False)
    return table_splits(read_columns(path), cfg, f"table ({path})")


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
