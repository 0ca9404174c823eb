"""The cells of a paired-data manifest, read a chunk of rows at a time and kept on disk.

`read_manifest` makes one pass over a CSV / Parquet (`columns.TableFile`) or JSONL
manifest. Each declared column's cells are checked as they come, with errors that name
the row and column, and written to a temporary file (`scratch.Spans`): file paths and
texts as UTF-8, series as their float32 values. Only the presence flags, the label cells
and the offsets stay in memory; a batch reads its own rows back (`StoredFiles`,
`StoredSeries`, `text.TableDocs`).
"""

from __future__ import annotations

import json
import math
import os
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskfuse.data.base import text_lines
from maskfuse.data.columns import MISSING, TableFile, chunk_rows
from maskfuse.data.scratch import Spans, SpanSink
from maskfuse.errors import DataError


@dataclass
class Manifest:
    """What one pass over a manifest keeps.

    Attributes:
        path: The manifest.
        first_row: Its number for row 0 in messages (CSV: 2, below the header; JSONL: 1).
        stores: Declared column -> its cells, by row (an empty span where it is missing).
        present: [N, M] bool, column j for the j-th declared column.
        channels: Series column -> the leading shape every series of it has.
        labels: The label column's cells, or None when the manifest has no such column.
        marks: The split column's cells (train / test / val), or None without one.
    """

    path: Path
    first_row: int
    stores: dict[str, Spans]
    present: np.ndarray
    channels: dict[str, tuple[int, ...]]
    labels: list | None
    marks: list | None = None

    def __len__(self) -> int:
        return len(self.present)

    def rows_with(self, column: str) -> np.ndarray:
        """The rows where `column` is present."""
        return np.flatnonzero(self.present[:, list(self.stores).index(column)])

    def where(self, i: int, column: str | None = None) -> str:
        row = f"{self.path}, row {int(i) + self.first_row}"
        return row if column is None else f"{row}, column '{column}'"


def is_missing(cell) -> bool:
    return cell is None or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip().lower() in MISSING


def parse_series(cell, where: str) -> np.ndarray:
    """[C, T] float32 from a JSON list (nested for channels) or delimited numbers."""
    value = cell
    if isinstance(cell, str):
        text = cell.strip()
        try:
            value = json.loads(text) if text.startswith("[") else [float(v) for v in re.split(r"[\s,;]+", text) if v]
        except ValueError:
            raise DataError(f"{where}: expected a series (JSON list or numbers), got {text[:40]!r}") from None
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{where}: expected a list of numbers, got {str(value)[:40]!r}") from None
    if arr.ndim not in (1, 2) or arr.shape[-1] < 2:
        raise DataError(f"{where}: expected a series of at least 2 values, got shape {list(arr.shape)}")
    if not np.isfinite(arr).all():
        raise DataError(f"{where}: the series holds NaN or infinite values")
    return arr[None] if arr.ndim == 1 else arr


def _cell_bytes(kind: str, cell, where: str, root: Path, channels: dict, outside: bool = False) -> bytes:
    """What the store keeps of one present cell: a file's resolved path or the text as
    UTF-8, or a series' float32 values (its channel count checked against the first)."""
    if kind == "timeseries":
        series = parse_series(cell, where)
        shape, first = channels.setdefault("shape", (series.shape[:-1], where))
        if series.shape[:-1] != shape:
            raise DataError(f"{where}: a series of {series.shape[0]} channels; the first one ({first}) has {shape[0]}")
        return series.tobytes()
    if not isinstance(cell, str):
        what = "text" if kind == "text" else "a file path"
        raise DataError(f"{where}: expected {what}, got {type(cell).__name__} {cell!r}")
    if kind == "text":
        return cell.encode("utf-8")
    file = manifest_file(root, cell, where, outside)
    if not file.is_file():
        raise DataError(f"{where}: {kind} file {file} does not exist")
    return str(file).encode("utf-8")


def manifest_file(root: Path, cell: str, where: str, outside: bool) -> Path:
    """A path cell of a manifest in the resolved folder `root`, normalised; one that leaves
    it (`../`, or absolute elsewhere) is a DataError unless data.allow_outside is set."""
    file = Path(os.path.normpath(root / cell))
    if not (outside or file.is_relative_to(root) or file.resolve().is_relative_to(root)):
        raise DataError(
            f"{where}: {cell!r} leaves the manifest's folder {root}; set data.allow_outside=true to read files there"
        )
    return file


def _jsonl_chunks(path: Path, names: list[str], seen: dict[str, None]) -> Iterator[dict[str, list]]:
    """The cells of `names` in a JSONL file, a chunk of rows at a time (None where a row
    lacks the key); every key met is added to `seen`."""
    rows = chunk_rows(len(names))
    chunk: dict[str, list] = {n: [] for n in names}
    for number, _, line in text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}, line {number}: not JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}, line {number}: expected a JSON object per line")
        seen.update(dict.fromkeys(row))
        for n in names:
            chunk[n].append(row.get(n))
        if len(chunk[names[0]]) == rows:
            yield chunk
            chunk = {n: [] for n in names}
    if chunk[names[0]]:
        yield chunk


def _table_chunks(table: TableFile, names: list[str]) -> Iterator[dict[str, list]]:
    for chunk in table.chunks():
        yield {n: chunk[n].cells for n in names}


def read_manifest(
    path: Path, kinds: dict[str, str], label: str | None, outside: bool = False, split: str | None = None
) -> Manifest:
    """One pass over the manifest at `path`: its declared columns (`kinds`: column ->
    image / audio / text / timeseries) checked and stored, and the cells of `label` and of
    `split`. File paths must stay inside the manifest's folder unless `outside`."""
    jsonl = path.suffix.lower() == ".jsonl"
    seen: dict[str, None] = {}
    if not jsonl:
        table = TableFile(path)
        seen = dict.fromkeys(table.names)
        for column in kinds:
            _known(path, column, seen)
    wanted = label is not None and (jsonl or label in seen)  # JSONL: any row may hold it
    if split is not None and not jsonl:
        _known(path, split, seen, "data.split_column")
    names = list(dict.fromkeys([*kinds, *([label] if wanted else []), *([split] if split else [])]))
    chunks = _jsonl_chunks(path, names, seen) if jsonl else _table_chunks(table, names)
    first_row, root = 1 if jsonl else table.first_row, path.parent.resolve()
    sinks = {c: SpanSink(".cells") for c in kinds}
    present, labels, marks, channels, n = array("b"), [], [], {c: {} for c in kinds}, 0
    for chunk in chunks:
        for i in range(len(chunk[names[0]])):
            for c, kind in kinds.items():
                cell = chunk[c][i]
                there = not is_missing(cell)
                where = f"{path}, row {n + i + first_row}, column '{c}'"
                sinks[c].add(_cell_bytes(kind, cell, where, root, channels[c], outside) if there else b"")
                present.append(there)
        labels.extend(chunk[label] if wanted else ())
        marks.extend(chunk[split] if split else ())
        n += len(chunk[names[0]])
    for column in kinds:
        _known(path, column, seen)
    if split is not None:
        _known(path, split, seen, "data.split_column")
    flags = np.frombuffer(present, np.int8).astype(bool).reshape(n, len(kinds))
    shapes = {c: found["shape"][0] for c, found in channels.items() if found}
    stores = {c: sink.finish() for c, sink in sinks.items()}
    labels = labels if wanted and label in seen else None
    return Manifest(path, first_row, stores, flags, shapes, labels, marks if split else None)


def _known(path: Path, column: str, seen: dict[str, None], what: str = "") -> None:
    if column not in seen:
        what = what or f"modality {column} (data.modalities)"
        raise DataError(f"{path}: no column '{column}' ({what}); columns: {', '.join(seen)}")


@dataclass
class StoredFiles:
    """`LazyRows` cells of an image / audio column: each row's file (None where it is
    missing) and where it is named."""

    manifest_path: Path
    first_row: int
    column: str
    spans: Spans

    def __call__(self, rows: np.ndarray) -> list[tuple[Path | None, str]]:
        out = []
        for r, raw in zip(rows, self.spans.read(rows)):
            where = f"{self.manifest_path}, row {int(r) + self.first_row}, column '{self.column}'"
            out.append((Path(raw.decode("utf-8")), f"{where}: {raw.decode('utf-8')}") if raw else (None, where))
        return out

    def origin(self, rows: np.ndarray) -> list[str]:
        """Each row's file, as the manifest names it."""
        return [raw.decode("utf-8") for raw in self.spans.read(rows)]


@dataclass
class StoredSeries:
    """`LazyRows` cells of a series column: each row's [C, T] values (None where missing)."""

    channels: tuple[int, ...]
    spans: Spans

    def __call__(self, rows: np.ndarray) -> list[tuple[np.ndarray | None, str]]:
        size = math.prod(self.channels)
        shaped = [np.frombuffer(raw, np.float32).reshape(*self.channels, len(raw) // 4 // size) for raw in
                  self.spans.read(rows)]  # fmt: skip
        return [(s if s.size else None, "") for s in shaped]


@dataclass
class PadSeries:
    """A `LazyRows` decoder: series [C, T] NaN-padded to `shape` [C, width]; a missing one
    is zeros."""

    shape: tuple[int, ...]

    def many(self, cells: list[tuple[np.ndarray | None, str]]) -> np.ndarray:
        out = np.zeros((len(cells), *self.shape), np.float32)
        for row, (series, _) in zip(out, cells):
            if series is not None:
                row[..., : series.shape[-1]] = series
                row[..., series.shape[-1] :] = np.nan
        return out


def series_width(manifest: Manifest, column: str) -> int:
    """The longest series of `column`, from the sizes of its stored values alone."""
    sizes = np.diff(manifest.stores[column].starts)
    return int(sizes.max()) // 4 // math.prod(manifest.channels[column])
