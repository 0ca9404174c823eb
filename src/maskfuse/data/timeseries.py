"""Time series sources: wide or long CSV / Parquet tables and UCR / UEA files.

Every source here ends in `series_splits`, which checks the values, pads shorter series
at the end with NaN (the tokenizer's validity convention) and computes the spec. NPZ
archives, which can be read by row, have their own module, `series_npz`.
"""

from __future__ import annotations

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.base import ArrayDataset, DataSpec, Splits, class_count, input_stats, source_path, split_indices
from maskfuse.data.columns import read_columns
from maskfuse.data.ucr import read_ucr
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


def check_series(x: np.ndarray, where: str, skip: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """Row indices of well-formed series in x [N, C, T]: finite values, then only trailing
    NaN padding (the same length in every channel), and at least one value. A bad row
    raises a DataError naming it (by `rows[i]` when given, else i), or is left out when
    `skip`."""
    observed = np.isfinite(x)
    lengths = observed.sum(-1)  # [N, C]
    steps = np.arange(x.shape[-1])
    good = []
    for i in range(len(x)):
        length = int(lengths[i, 0])
        problem = None
        if np.isinf(x[i]).any():
            problem = "holds an infinite value"
        elif length == 0:
            problem = "is empty"
        elif (lengths[i] != length).any():
            problem = f"has channels of different lengths {lengths[i].tolist()}"
        elif not (observed[i] == (steps < length)).all():
            first = int(np.argmin(observed[i].all(0)))
            problem = f"has a missing value (NaN) at step {first}, before its end; fill or drop it"
        if problem is None:
            good.append(i)
        elif not skip:
            name = i if rows is None else int(rows[i])
            raise DataError(f"{where}, series {name}: {problem} (data.on_error=skip skips such rows)")
    return np.asarray(good, dtype=np.int64)


def series_splits(
    train: tuple[np.ndarray, np.ndarray | None],
    test: tuple[np.ndarray, np.ndarray | None],
    source: str,
    cfg: DataConfig,
    class_names: tuple[str, ...] = (),
) -> Splits:
    """Wrap ([N, C, T] float arrays with NaN padding, labels) pairs as `Splits`."""
    parts, notes = [], []
    length = max(train[0].shape[-1], test[0].shape[-1])
    if cfg.max_length is not None:
        length = min(length, cfg.max_length)
    for name, (x, y) in (("train", train), ("test", test)):
        if x.ndim != 3:
            raise DataError(f"{source}: expected series shaped [N, C, T], got {list(x.shape)} for the {name} split")
        x = cut_or_pad(x, length)
        keep = check_series(x, f"{source} ({name} split)", cfg.on_error == "skip")
        # archives often come sorted by class: one seeded shuffle, so data.max_train keeps a fair sample
        keep = np.random.default_rng(cfg.split_seed).permutation(keep)
        if len(keep) < len(x):
            notes.append(f"skipped {len(x) - len(keep)} bad {name} series")
        parts.append((x[keep], None if y is None else y[keep]))
    (tr_x, tr_y), (te_x, te_y) = parts
    if tr_x.shape[1] != te_x.shape[1]:
        raise DataError(f"{source}: train series have {tr_x.shape[1]} channels, test series {te_x.shape[1]}")
    if len(tr_x) == 0:
        raise DataError(f"{source}: no usable training series")
    mean, std = input_stats(tr_x, "timeseries")
    spec = DataSpec(
        modality="timeseries",
        shape=(int(tr_x.shape[1]), int(length)),
        mean=mean,
        std=std,
        num_classes=class_count(tr_y, te_y),
        class_names=class_names,
    )

    def wrap(x: np.ndarray, y: np.ndarray | None) -> ArrayDataset:
        return ArrayDataset(
            torch.as_tensor(x), None if y is None else torch.as_tensor(y, dtype=torch.int64), "timeseries"
        )

    return Splits(wrap(tr_x, tr_y), wrap(te_x, te_y), spec, source, notes)


def cut_or_pad(x: np.ndarray, length: int) -> np.ndarray:
    """Series [N, C, T] as float32 [N, C, length]: cut at `length`, or NaN-padded at the end."""
    x = x[..., :length].astype(np.float32)
    return np.pad(x, ((0, 0), (0, 0), (0, length - x.shape[-1])), constant_values=np.nan)


def own_or_fixed_split(x, y, test, cfg: DataConfig, source: str, class_names=()) -> Splits:
    """Use the file's own test split when there is one, else a seeded split."""
    if test is not None:
        return series_splits((x, y), test, source, cfg, class_names)
    tr, te = split_indices(len(x), y, cfg.test_fraction, cfg.split_seed)
    pick = lambda a, idx: None if a is None else a[idx]  # noqa: E731
    return series_splits((x[tr], pick(y, tr)), (x[te], pick(y, te)), source, cfg, class_names)


def encode_labels(raw: np.ndarray, where: str, order: tuple[str, ...] = ()) -> tuple[np.ndarray, tuple[str, ...]]:
    """Label cells -> class ids, with the class names (given order, else sorted)."""
    texts = []
    for i, v in enumerate(raw):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            raise DataError(f"{where}: missing label in row {i}")
        texts.append(_label_text(v))
    names = order or tuple(sorted(set(texts), key=_label_key))
    index = {n: i for i, n in enumerate(names)}
    unknown = sorted(set(texts) - set(index))
    if unknown:
        raise DataError(f"{where}: labels {unknown[:5]} are not among the declared classes {list(names)}")
    return np.asarray([index[t] for t in texts], dtype=np.int64), names


def _label_text(v) -> str:
    text = str(v).strip()
    try:
        f = float(text)
        return str(int(f)) if f.is_integer() else text
    except ValueError:
        return text


def _label_key(text: str):
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


@DATASETS.register("ucr")
def load_ucr(cfg: DataConfig) -> Splits:
    """A UCR / UEA archive file: `.ts` (sktime format, uni- or multivariate) or the UCR
    `.tsv` / `.txt` layout (label, then values). Given NAME_TRAIN.*, its NAME_TEST.*
    sibling is the test split when present."""
    path = source_path(cfg.path, "UCR / UEA file", "ucr", folder=False)
    x, raw_y, order = read_ucr(path)
    test_path = path.with_name(path.name.replace("_TRAIN", "_TEST")) if "_TRAIN" in path.name else None
    test = read_ucr(test_path) if test_path is not None and test_path.is_file() else None
    y = names = None
    if raw_y is not None:
        all_y = raw_y if test is None else np.concatenate([raw_y, test[1]])
        ids, names = encode_labels(all_y, str(path), order)
        y = ids[: len(raw_y)]
        if test is not None:
            test = (test[0], ids[len(raw_y) :])
    elif test is not None:
        test = (test[0], None)
    if test is not None and test[0].shape[-1] != x.shape[-1]:
        width = max(test[0].shape[-1], x.shape[-1])
        x, test = cut_or_pad(x, width), (cut_or_pad(test[0], width), test[1])
    return own_or_fixed_split(x, y, test, cfg, f"ucr ({path})", names or ())


@DATASETS.register("series-table")
def load_table(cfg: DataConfig) -> Splits:
    """CSV or Parquet. Wide form: one row per series, every column but data.label_column is
    a time step (empty trailing cells = a shorter series). Long form: data.id_column,
    data.time_column, data.value_column (and data.channel_column) rows."""
    path = source_path(cfg.path, "CSV or Parquet file", "series-table", folder=False)
    cols = read_columns(path)
    label = cfg.label_column if cfg.label_column in cols.names else None
    if cfg.label_column and label is None and cfg.series_format == "wide":
        raise DataError(
            f"{path}: no label column '{cfg.label_column}'; columns: {', '.join(cols.names)} "
            "(set data.label_column=null for unlabeled series)"
        )
    if cfg.series_format == "wide":
        steps = [n for n in cols.names if n != label]
        x = np.stack([cols.numeric(n) for n in steps], axis=1)[:, None].astype(np.float32)  # [N, 1, T]
        raw_y = cols.column(label, "labels") if label else None
    else:
        x, raw_y = _long_form(cols, cfg, label)
    y, names = encode_labels(raw_y, str(path)) if raw_y is not None else (None, ())
    return own_or_fixed_split(x, y, None, cfg, f"series-table ({path})", names)


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
