"""Readers for the UCR / UEA archive formats: sktime's `.ts` text format and the UCR
`.tsv` / `.txt` layout (one series per line, label first).

Both return x [N, C, T] float32 padded at the end with NaN (series may differ in
length), the raw label cells (or None), and the class order the header declares.
Missing values inside a series ('?' or NaN) are kept as NaN and rejected later by the
series checks, which name the row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskfuse.data.columns import to_float
from maskfuse.errors import DataError


def read_ucr(path: Path) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err})") from err
    if path.suffix.lower() == ".ts":
        return _ts(path, text)
    return _ucr_table(path, text)


def _pad(rows: list[list[np.ndarray]], path: Path) -> np.ndarray:
    if not rows:
        raise DataError(f"{path}: no series found")
    channels = {len(r) for r in rows}
    if len(channels) > 1:
        raise DataError(f"{path}: series have different channel counts {sorted(channels)}")
    length = max(len(v) for r in rows for v in r)
    x = np.full((len(rows), len(rows[0]), length), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        for c, v in enumerate(r):
            x[i, c, : len(v)] = v
    return x


def _ts(path: Path, text: str) -> tuple[np.ndarray, np.ndarray | None, tuple[str, ...]]:
    """sktime / UEA .ts: '@' header lines, then 'dim1:dim2:...:label' data lines with
    comma-separated values in each dimension."""
    has_labels, order, in_data = False, (), False
    rows, labels = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}, line {number}"
        if not in_data:
            key, _, rest = line.partition(" ")
            key = key.lower()
            if key == "@classlabel":
                parts = rest.split()
                has_labels = bool(parts) and parts[0].lower() == "true"
                order = tuple(parts[1:]) if has_labels else ()
            elif key == "@timestamps" and rest.strip().lower() == "true":
                raise DataError(f"{where}: time-stamped .ts series are not supported; write plain values")
            elif key == "@data":
                in_data = True
            elif not key.startswith("@"):
                raise DataError(f"{where}: expected a '@' header line or '@data' before the values")
            continue
        dims = line.split(":")
        if has_labels:
            if len(dims) < 2:
                raise DataError(f"{where}: expected values then ':label', got {line[:60]!r}")
            labels.append(dims.pop().strip())
        rows.append([_values(d.split(","), where, c) for c, d in enumerate(dims)])
    if not in_data:
        raise DataError(f"{path}: no '@data' line; not a .ts file")
    return _pad(rows, path), np.asarray(labels, dtype=object) if has_labels else None, order


def _ucr_table(path: Path, text: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """UCR 2018 .tsv (tab-separated) or the older .txt (spaces or commas): label first.
    Trailing NaN cells are the padding of a shorter series."""
    rows, labels = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.replace(",", " ").split()
        where = f"{path}, line {number}"
        if len(cells) < 2:
            raise DataError(f"{where}: expected a label and at least one value")
        labels.append(cells[0])
        v = _values(cells[1:], where, 0)
        observed = np.flatnonzero(~np.isnan(v))
        rows.append([v[: observed[-1] + 1] if len(observed) else v])
    return _pad(rows, path), np.asarray(labels, dtype=object), ()


def _values(cells: list[str], where: str, channel: int) -> np.ndarray:
    return np.asarray([to_float(c, lambda: f"{where}, channel {channel}") for c in cells], dtype=np.float32)
