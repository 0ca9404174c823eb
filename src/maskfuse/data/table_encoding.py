"""A table's cells -> one float32 array [N, F], in a single streaming pass.

Numbers stay numbers; a column becomes categorical when data.categorical names it or
when one of its present cells is not a number, and its cells then become codes in the
order they are met (`encode_table`). The codes are renumbered afterwards to the sorted
categories of the training rows (`training_categories`), and numeric columns get a
robust scaling from the training rows (`robust_scaling`). Only the encoded array is
kept, in memory or in a temporary file (`arrays.RowSink`), never the cells.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.arrays import MappedArray, RowSink
from maskfuse.data.base import given_split
from maskfuse.data.columns import ArrowCells, Columns, ListCells, TableFile, to_float
from maskfuse.data.timeseries import encode_labels
from maskfuse.errors import DataError

BLOCK_ROWS = 1 << 16  # rows of the encoded array recoded at a time

Table = Columns | TableFile  # anything with path, names, row_name(i) and chunks()


@dataclass
class Encoded:
    """A table encoded row by row."""

    x: np.ndarray  # [N, F] float32, writable: numbers, and category codes in the order met
    mapped: MappedArray | None  # where x lives when it outgrew data.memory_mb
    kinds: list[str]  # "numeric" or "categorical", per feature
    found: dict[int, list[str]]  # categorical feature index -> its categories, by code
    y: np.ndarray | None  # [N] int64 class ids
    class_names: tuple[str, ...]
    split: tuple[np.ndarray, np.ndarray] | None = None  # (train, test) rows from data.split_column
    mixed: dict[int, str] = field(default_factory=dict)  # inferred categorical index -> the first
    # cell that is not a number ("FILE, row R holds 'x'"), for columns that also hold numbers


def numbers_of(column: ListCells | ArrowCells, forced: bool, where: Callable[[int], str]) -> np.ndarray | None:
    """A chunk's column as float64 (NaN if missing), or None when one of its cells is not a
    number (an error naming it, by `where(i)`, when the column is `forced` numeric)."""
    numbers = column.numbers()
    if numbers is None and forced:
        for i, cell in enumerate(column.cells):
            to_float(cell, lambda i=i: where(i))
    return numbers


def _first_word(cells: list) -> tuple[int, bool]:
    """(the index of the first cell that is neither a number nor missing, whether any
    cell is a number)."""
    first, numbers = None, False
    for i, cell in enumerate(cells):
        try:
            value = to_float(cell, str)
        except DataError:
            first = i if first is None else first
            continue
        numbers = numbers or not math.isnan(value)
    return first or 0, numbers


def _codes(cells: list, codes: dict[str, int]) -> list[float]:
    return [np.nan if c is None else codes.setdefault(str(c), len(codes)) for c in cells]


def _label_codes(cells: list, keys: dict[str, int], firsts: list, where: Callable[[int], str]) -> np.ndarray:
    """Label cells -> codes in the order met; `firsts` keeps the first cell of each."""
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            raise DataError(where(i))
        if str(cell) not in keys:
            keys[str(cell)] = len(keys)
            firsts.append(cell)
    return np.fromiter((keys[str(c)] for c in cells), np.int64, len(cells))


def encode_table(table: Table, features: list[str], label: str | None, cfg: DataConfig, finite: bool = True) -> Encoded:
    """Read the table once into an `Encoded` array (when `finite`, an infinite number is an
    error naming its row and column)."""
    for name in (*cfg.categorical, *cfg.numeric):
        if name not in features:
            raise DataError(f"{table.path}: data.categorical / data.numeric name '{name}', not a feature column")
    found: dict[int, dict[str, int]] = {j: {} for j, name in enumerate(features) if name in cfg.categorical}
    late, infinite, labels, keys, firsts, mixed = {}, {}, [], {}, [], {}
    marks, mark_keys, markers, split = [], {}, [], cfg.split_column
    sink = RowSink(len(features), cfg.memory_mb)
    for chunk in table.chunks():
        lo = sink.rows
        block = np.empty((len(chunk[features[0]]), len(features)), np.float32)
        for j, name in enumerate(features):
            where = lambda i, lo=lo, name=name: f"{table.row_name(lo + i)}, column '{name}'"  # noqa: E731
            numbers = None if j in found else numbers_of(chunk[name], name in cfg.numeric, where)
            if numbers is not None:
                block[:, j] = numbers
                if finite and j not in infinite and np.isinf(block[:, j]).any():
                    infinite[j] = lo + int(np.argmax(np.isinf(block[:, j])))
                continue
            if j not in found:  # a cell that is not a number: the column is categorical after all
                found[j] = {}
                word, numbers = _first_word(chunk[name].cells)
                if numbers or lo:
                    mixed[j] = f"{table.row_name(lo + word)} holds {chunk[name].cells[word]!r}"
                if lo:
                    late[j] = lo
            block[:, j] = _codes(chunk[name].cells, found[j])
        if label is not None:
            what = lambda i, lo=lo: f"{table.row_name(lo + i)}: missing label in column '{label}'"  # noqa: E731
            labels.append(_label_codes(chunk[label].cells, keys, firsts, what))
        if split is not None:
            what = lambda i, lo=lo: f"{table.row_name(lo + i)}: missing split marker in column '{split}'"  # noqa: E731
            marks.append(_label_codes(chunk[split].cells, mark_keys, markers, what))
        sink.add(block)
    if sink.rows == 0:
        raise DataError(f"{table.path}: no data rows below the header")
    x, mapped = sink.finish()
    _recode_late(table, x, features, found, late)
    bad = sorted((row, j) for j, row in infinite.items() if j not in found)
    if bad:
        raise DataError(f"{table.row_name(bad[0][0])}, column '{features[bad[0][1]]}': infinite value")
    kinds = ["categorical" if j in found else "numeric" for j in range(len(features))]
    y, class_names = (None, ()) if label is None else encode_labels(firsts, str(table.path))
    y = None if y is None else y[np.concatenate(labels)]  # first cell of each label -> its class id
    rows = None
    if split is not None:
        rows = given_split(np.concatenate(marks), markers, f"{table.path}, column '{split}'", table.row_name)
    found = {j: list(codes) for j, codes in found.items()}
    return Encoded(x, mapped, kinds, found, y, class_names, rows, mixed)


def _recode_late(table: Table, x: np.ndarray, features: list[str], found: dict, late: dict[int, int]) -> None:
    """Columns found categorical past the first chunk: their earlier rows were read as
    numbers, so read those rows again as categories."""
    lo = 0
    for chunk in table.chunks() if late else ():
        hi = lo + len(chunk[features[0]])
        for j, start in late.items():
            if lo < start:
                x[lo:hi, j] = _codes(chunk[features[j]].cells, found[j])
        lo = hi
        if lo >= max(late.values()):
            break


def _blocks(rows: int):
    return ((lo, min(lo + BLOCK_ROWS, rows)) for lo in range(0, rows, BLOCK_ROWS))


def training_categories(
    enc: Encoded, train: np.ndarray, table: Table, features: list[str], skip: bool
) -> tuple[dict[str, list[str]], np.ndarray]:
    """Renumber the category codes of enc.x in place to the sorted categories of the
    training rows (`train`: [N] bool); returns those categories by column name, and which
    rows hold a category training never saw (an error naming the first such row unless
    `skip`, and the cell that made a column of numbers categorical)."""
    x, found = enc.x, enc.found
    seen = {j: np.zeros(len(values), bool) for j, values in found.items()}
    for lo, hi in _blocks(len(x)):
        for j in found:
            codes = x[lo:hi, j][train[lo:hi]]
            seen[j][codes[~np.isnan(codes)].astype(np.int64)] = True
    categories, recode = {}, {}
    for j, values in found.items():
        known = sorted(values[c] for c in np.flatnonzero(seen[j]))
        categories[features[j]] = known
        code = {value: c for c, value in enumerate(values)}
        recode[j] = np.full(len(values), np.nan, np.float32)
        recode[j][[code[value] for value in known]] = np.arange(len(known))
    unseen, first = np.zeros(len(x), bool), {}
    for lo, hi in _blocks(len(x)):
        for j, values in found.items():
            codes = x[lo:hi, j]
            present = ~np.isnan(codes)
            new = np.full(len(codes), np.nan, np.float32)
            new[present] = recode[j][codes[present].astype(np.int64)]
            bad = present & np.isnan(new)
            if bad.any() and j not in first:
                i = int(np.argmax(bad))
                first[j] = (lo + i, values[int(codes[i])])
            unseen[lo:hi] |= bad
            x[lo:hi, j] = new
    if first and not skip:
        j = min(first)
        i, value = first[j]
        column = features[j]
        if j in enc.mixed:  # the cell to fix is the one that turned a column of numbers into categories
            raise DataError(
                f"{enc.mixed[j]} in column '{column}', not a number, so the column is read as categories "
                f"and {table.row_name(i)} holds {value!r}, a category the training split never has; fix that "
                f"cell, or set data.numeric=[{column}] to have it named as the error"
            )
        raise DataError(
            f"{table.row_name(i)}, column '{column}': category {value!r} never occurs in the "
            f"training split (known: {categories[column][:8]}); data.on_error=skip drops such rows"
        )
    return categories, unseen


def robust_scaling(x: np.ndarray, kinds: list[str], rows: np.ndarray) -> tuple[list[float], list[float]]:
    """Per column (center, scale) from these rows: the median and interquartile range of
    numeric columns (the std, else 1, when that range is empty); categories keep (0, 1)."""
    fit = x[rows]
    center, scale = [], []
    for j, kind in enumerate(kinds):
        col = fit[:, j]
        col = col[~np.isnan(col)]
        if kind == "categorical" or len(col) == 0:
            center.append(0.0)
            scale.append(1.0)
            continue
        q25, med, q75 = np.percentile(col, [25, 50, 75])
        spread = q75 - q25 if q75 > q25 else (col.std() if col.std() > 0 else 1.0)
        center.append(float(med))
        scale.append(float(spread))
    return center, scale
