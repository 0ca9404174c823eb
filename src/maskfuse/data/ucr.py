"""Readers for the UCR / UEA archive formats: sktime's `.ts` text format and the UCR
`.tsv` / `.txt` layout (one series per line, label first).

A file is read a line at a time: each series' values go into a temporary file
(`scratch.Spans`, float32, channel after channel) and only its channel lengths and label
are held. `padded` then writes the series into an array [N, C, T] padded at the end with
NaN (series may differ in length), held when it fits in data.memory_mb, else a
temporary file read by row. Missing values inside a series ('?' or NaN) are kept as NaN
and rejected later by the series checks, which name the row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskfuse.data.arrays import MappedArray, nan_array
from maskfuse.data.base import text_lines
from maskfuse.data.columns import to_float
from maskfuse.data.scratch import Spans, SpanSink
from maskfuse.errors import DataError

CHUNK = 4096  # series written into the padded array at a time


@dataclass
class Ragged:
    """The series of one file, stored one after another."""

    path: Path
    values: Spans  # float32, channel after channel
    lengths: np.ndarray  # [N, C] steps of each channel of each series
    labels: list[str] | None  # raw label of each series, when the file has labels
    order: tuple[str, ...]  # the class order the header declares, if any

    @property
    def width(self) -> int:
        return int(self.lengths.max())


def read_ucr(path: Path) -> Ragged:
    ts = path.suffix.lower() == ".ts"
    values, lengths, labels, header = SpanSink(".f32"), [], [], {"labels": not ts, "order": ()}
    for where, dims, label in _ts(path, header) if ts else _ucr_table(path):
        if lengths and len(dims) != len(lengths[0]):
            raise DataError(f"{where}: {len(dims)} channels, the series before have {len(lengths[0])}")
        values.add(b"".join(d.tobytes() for d in dims))
        lengths.append([len(d) for d in dims])
        labels.append(label)
    if not lengths:
        raise DataError(f"{path}: no series found")
    stored = np.asarray(lengths, dtype=np.int64)
    return Ragged(path, values.finish(), stored, labels if header["labels"] else None, header["order"])


def padded(series: Ragged, width: int, memory_mb: float) -> tuple[np.ndarray | MappedArray, list[str]]:
    """The series as [N, C, width] float32, NaN-padded at the end; held when it fits in
    `memory_mb` MiB, else a temporary file (with a note saying so)."""
    n, channels = series.lengths.shape
    x, mapped = nan_array((n, channels, width), np.float32, memory_mb)
    for lo in range(0, n, CHUNK):
        rows = np.arange(lo, min(lo + CHUNK, n))
        for i, raw in zip(rows, series.values.read(rows)):
            flat = np.frombuffer(raw, np.float32)
            ends = np.cumsum(series.lengths[i])
            for c, values in enumerate(np.split(flat, ends[:-1])):
                x[i, c, : len(values)] = values
    if mapped is None:
        return x, []
    x.flush()
    return mapped, [f"wrote the {n} series of {series.path.name} into {mapped.path} to read them by row"]


def _ts(path: Path, header: dict) -> Iterator[tuple[str, list[np.ndarray], str | None]]:
    """sktime / UEA .ts: '@' header lines, then 'dim1:dim2:...:label' data lines with
    comma-separated values in each dimension. Yields (where, channels, label) and fills
    `header` with whether there are labels and their declared order."""
    in_data = False
    for number, _, line in text_lines(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}, line {number}"
        if not in_data:
            key, _, rest = line.partition(" ")
            key = key.lower()
            if key == "@classlabel":
                parts = rest.split()
                header["labels"] = bool(parts) and parts[0].lower() == "true"
                header["order"] = tuple(parts[1:]) if header["labels"] else ()
            elif key == "@timestamps" and rest.strip().lower() == "true":
                raise DataError(f"{where}: time-stamped .ts series are not supported; write plain values")
            elif key == "@data":
                in_data = True
            elif not key.startswith("@"):
                raise DataError(f"{where}: expected a '@' header line or '@data' before the values")
            continue
        dims, label = line.split(":"), None
        if header["labels"]:
            if len(dims) < 2:
                raise DataError(f"{where}: expected values then ':label', got {line[:60]!r}")
            label = dims.pop().strip()
        yield where, [_values(d.split(","), where, c) for c, d in enumerate(dims)], label
    if not in_data:
        raise DataError(f"{path}: no '@data' line; not a .ts file")


def _ucr_table(path: Path) -> Iterator[tuple[str, list[np.ndarray], str]]:
    """UCR 2018 .tsv (tab-separated) or the older .txt (spaces or commas): label first.
    Trailing NaN cells are the padding of a shorter series."""
    for number, _, line in text_lines(path):
        if not line.strip():
            continue
        cells = line.replace(",", " ").split()
        where = f"{path}, line {number}"
        if len(cells) < 2:
            raise DataError(f"{where}: expected a label and at least one value")
        v = _values(cells[1:], where, 0)
        observed = np.flatnonzero(~np.isnan(v))
        yield where, [v[: observed[-1] + 1] if len(observed) else v], cells[0]


def _values(cells: list[str], where: str, channel: int) -> np.ndarray:
    return np.asarray([to_float(c, lambda: f"{where}, channel {channel}") for c in cells], dtype=np.float32)
