"""Time series splits, and UCR / UEA files.

Every series source ends in `series_rows`, which checks the values, pads shorter series
at the end with NaN (the tokenizer's validity convention), computes the spec and holds
the splits when they fit in data.memory_mb (else converts them batch by batch), from
arrays held or read by row: an .npz archive (`series_npz`), a wide or long table
(`series_table`, `series_long`), or UCR / UEA files (`ucr`, written into one array).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.arrays import ArrayRows, MappedArray
from maskfuse.data.base import Splits, class_count, source_path, split_indices
from maskfuse.data.ondemand import settle
from maskfuse.data.ucr import padded, read_ucr
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec


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
    notes: list[str] | None = None,
) -> Splits:
    """Wrap ([N, C, T] float arrays with NaN padding, labels) pairs as `Splits`, through
    `series_rows` (a bad series is named by its position in its split)."""
    named = {"train": train, "test": test}
    for name, (x, _) in named.items():
        if x.ndim != 3:
            raise DataError(f"{source}: expected series shaped [N, C, T], got {list(x.shape)} for the {name} split")
    if train[0].shape[1] != test[0].shape[1]:
        raise DataError(f"{source}: train series have {train[0].shape[1]} channels, test series {test[0].shape[1]}")
    length = max(train[0].shape[-1], test[0].shape[-1])
    split = {name: (x, np.arange(len(x)), y, f"{source} ({name} split)") for name, (x, y) in named.items()}
    return series_rows(split, (int(train[0].shape[1]), int(length)), cfg, source, notes or [], class_names)


CHECK_ROWS = 4096  # rows read at a time by the data.on_error=skip pass of stored series


@dataclass
class SeriesValues:
    """Stored series rows ([n, C, T] or [n, T]) -> float32 [n, C, length], cut or NaN-padded
    at the end and checked; a bad row is named by its index in the store, after `where`."""

    where: str
    length: int

    def shaped(self, values: np.ndarray) -> np.ndarray:
        return cut_or_pad(values[:, None] if values.ndim == 2 else values, self.length)

    def __call__(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        x = self.shaped(values)
        check_series(x, self.where, skip=False, rows=rows)
        return x


def good_rows(x: MappedArray | np.ndarray, rows: np.ndarray, convert: SeriesValues) -> np.ndarray:
    """The rows that pass `check_series`, read `CHECK_ROWS` at a time (data.on_error=skip)."""
    good = []
    for lo in range(0, len(rows), CHECK_ROWS):
        part = np.sort(rows[lo : lo + CHECK_ROWS])
        good.append(part[check_series(convert.shaped(x[part]), "", skip=True)])
    return np.concatenate(good) if good else np.zeros(0, np.int64)


Stored = tuple[MappedArray | np.ndarray, np.ndarray, np.ndarray | None, str]  # (array, rows, labels, where)


def series_rows(
    split: dict[str, Stored], shape: tuple[int, int], cfg: DataConfig, source: str, notes: list[str], class_names=()
) -> Splits:
    """Train and test series read by row from stored arrays: `split` maps "train" and "test"
    to (array [N, C, T] or [N, T], the split's rows, labels over all N or None, the name
    errors give the array). Each split is checked (data.on_error=skip drops bad rows first),
    shuffled once by data.split_seed (stores often come sorted by class, and data.max_train
    keeps the first rows) and settled by `ondemand.settle`; `shape` is (channels, the longest
    series), and series are cut at data.max_length."""
    if cfg.max_length is not None:
        shape = (shape[0], min(shape[1], cfg.max_length))
    parts = {}
    for name, (array, rows, labels, where) in split.items():
        convert = SeriesValues(where, shape[1])
        keep = good_rows(array, rows, convert) if cfg.on_error == "skip" else rows
        if len(keep) < len(rows):
            notes.append(f"skipped {len(rows) - len(keep)} bad {name} series")
        keep = np.random.default_rng(cfg.split_seed).permutation(keep)
        kept_labels = None if labels is None else torch.as_tensor(labels[keep], dtype=torch.int64)
        parts[name] = ArrayRows(array, keep, convert, shape, "timeseries", kept_labels)
    if not len(parts["train"]):
        raise DataError(f"{source}: no usable training series")
    num_classes = class_count(parts["train"].labels, parts["test"].labels)
    train, test, mean, std = settle(parts["train"], parts["test"], cfg.memory_mb)
    return Splits(train, test, DataSpec("timeseries", shape, mean, std, num_classes, class_names), source, notes)


def cut_or_pad(x: np.ndarray, length: int) -> np.ndarray:
    """Series [N, C, T] as float32 [N, C, length]: cut at `length`, or NaN-padded at the end."""
    x = x[..., :length].astype(np.float32)
    return np.pad(x, ((0, 0), (0, 0), (0, length - x.shape[-1])), constant_values=np.nan)


def own_or_fixed_split(x, y, test, cfg: DataConfig, source: str, class_names=(), notes=()) -> Splits:
    """Use the file's own test split when there is one, else a seeded split of the rows of
    `x` ([N, C, T], held or a `MappedArray`; a bad series is then named by its row in it)."""
    if test is not None:
        return series_splits((x, y), test, source, cfg, class_names, list(notes))
    tr, te = split_indices(len(x), y, cfg.test_fraction, cfg.split_seed, source)
    split = {"train": (x, tr, y, source), "test": (x, te, y, source)}
    return series_rows(split, (int(x.shape[1]), int(x.shape[-1])), cfg, source, list(notes), class_names)


def marker_codes(cells: list) -> tuple[np.ndarray, list[str]]:
    """Each split-marker cell's index into the distinct cells (None as ""), and those
    cells: what base.given_split reads."""
    words = ["" if c is None else str(c) for c in cells]
    distinct = list(dict.fromkeys(words))
    index = {w: k for k, w in enumerate(distinct)}
    return np.fromiter((index[w] for w in words), np.int64, len(words)), distinct


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
    train = read_ucr(path)
    test_path = path.with_name(path.name.replace("_TRAIN", "_TEST")) if "_TRAIN" in path.name else None
    test = read_ucr(test_path) if test_path is not None and test_path.is_file() else None
    if test is not None and (train.labels is None) != (test.labels is None):
        raise DataError(f"{test.path}: has {'no ' if test.labels is None else ''}labels, unlike {path.name}")
    y = test_y = names = None
    if train.labels is not None:
        ids, names = encode_labels(train.labels + ([] if test is None else test.labels), str(path), train.order)
        y, test_y = ids[: len(train.labels)], ids[len(train.labels) :]
    width = max(train.width, 0 if test is None else test.width)
    x, notes = padded(train, width, cfg.memory_mb)
    if test is not None:
        test_x, more = padded(test, width, cfg.memory_mb)
        test, notes = (test_x, test_y), notes + more
    return own_or_fixed_split(x, y, test, cfg, f"ucr ({path})", names or (), notes)
