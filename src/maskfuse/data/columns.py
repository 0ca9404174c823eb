"""Read CSV and Parquet files as named columns, with errors that name the file, row and column.

`TableFile` streams a table a chunk of rows at a time; `read_columns` reads it whole.
CSV goes through Python's csv module (no pandas dependency); Parquet through pyarrow
(the `parquet` extra). Row numbers in messages are the CSV line numbers (header = 1),
or 0-based row indices for Parquet.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from maskfuse.errors import DataError

MISSING = {"", "na", "nan", "null", "none", "?"}
CHUNK_CELLS = 1 << 20  # cells read at a time when a table is streamed (a few tens of MiB as Python objects)


class Columns:
    """Columns of one table file: name -> object array of cells (None = missing)."""

    def __init__(self, path: Path, data: dict[str, np.ndarray], first_row: int) -> None:
        self.path, self.data, self.first_row = path, data, first_row

    @property
    def names(self) -> list[str]:
        return list(self.data)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def row_name(self, i: int) -> str:
        return f"{self.path}, row {i + self.first_row}"

    def column(self, name: str, what: str) -> np.ndarray:
        if name not in self.data:
            raise DataError(f"{self.path}: no column '{name}' ({what}); columns: {', '.join(self.names)}")
        return self.data[name]

    def chunks(self) -> Iterator[dict[str, list]]:
        """The rows in order, a chunk at a time, like `TableFile.chunks`."""
        rows = chunk_rows(len(self.data))
        for lo in range(0, len(self), rows):
            yield {name: col[lo : lo + rows].tolist() for name, col in self.data.items()}

    def numeric(self, name: str) -> np.ndarray:
        """Column `name` as float64, missing cells as NaN; a non-number names its row."""
        out = np.empty(len(self), dtype=np.float64)
        for i, cell in enumerate(self.column(name, "numbers")):
            out[i] = to_float(cell, lambda i=i: f"{self.row_name(i)}, column '{name}'")
        return out


def chunk_rows(width: int) -> int:
    """Rows per chunk of a table `width` columns wide."""
    return max(64, CHUNK_CELLS // max(1, width))


def _cells(column: tuple[str, ...]) -> list[str | None]:
    """CSV cells stripped, a missing-value spelling as None."""
    return [None if (text := c.strip()).lower() in MISSING else text for c in column]


def to_float(cell, where) -> float:
    """A cell as float (NaN if missing); `where()` names it in the error."""
    if cell is None:
        return float("nan")
    if isinstance(cell, (int, float, np.number)):
        return float(cell)
    text = str(cell).strip()
    if text.lower() in MISSING:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise DataError(f"{where()}: expected a number, got {text!r}") from None


class TableFile:
    """A .csv / .tsv (optionally .gz / .bz2) or .parquet table, read about `CHUNK_CELLS`
    cells at a time: only the header is held, so a table of any length can be streamed."""

    def __init__(self, path: Path) -> None:
        suffixes = [s.lower() for s in path.suffixes]
        packed = suffixes[-1] if suffixes and suffixes[-1] in (".gz", ".bz2") else None
        suffix = suffixes[-2] if packed and len(suffixes) > 1 else path.suffix.lower()
        if suffix not in (".csv", ".tsv", ".txt", ".parquet"):
            raise DataError(f"{path}: expected a .csv, .tsv or .parquet file (.csv and .tsv may be .gz or .bz2)")
        self.path, self.packed, self.parquet = path, packed, suffix == ".parquet"
        self.delimiter = "\t" if suffix == ".tsv" else ","
        self.first_row = 0 if self.parquet else 2
        self.names = self._parquet_file().schema_arrow.names if self.parquet else self._csv_header()

    def row_name(self, i: int) -> str:
        return f"{self.path}, row {i + self.first_row}"

    def chunks(self) -> Iterator[dict[str, list]]:
        """The table's rows in order, a chunk at a time, as column name -> cells (None = missing)."""
        rows = chunk_rows(len(self.names))
        return self._parquet_chunks(rows) if self.parquet else self._csv_chunks(rows)

    def _open_csv(self):
        opener = {None: open, ".gz": gzip.open, ".bz2": bz2.open}[self.packed]
        return opener(self.path, "rt", newline="", encoding="utf-8")

    def _csv_header(self) -> list[str]:
        try:
            with self._open_csv() as f:
                first = next(csv.reader(f, delimiter=self.delimiter), None)
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as err:
            raise DataError(f"{self.path}: cannot read as CSV ({err})") from err
        if first is None:
            raise DataError(f"{self.path}: empty file; expected a header row and data rows")
        header = [h.strip() for h in first]
        if len(set(header)) != len(header):
            raise DataError(f"{self.path}: repeated column names in the header {header}")
        return header

    def _csv_chunks(self, rows: int) -> Iterator[dict[str, list]]:
        width, done = len(self.names), 0
        try:
            with self._open_csv() as f:
                reader = csv.reader(f, delimiter=self.delimiter)
                next(reader)
                while block := list(itertools.islice(reader, rows)):
                    for i, row in enumerate(block):
                        if len(row) != width:
                            raise DataError(f"{self.row_name(done + i)}: {len(row)} cells, the header has {width}")
                    yield {name: _cells(column) for name, column in zip(self.names, zip(*block))}
                    done += len(block)
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as err:
            raise DataError(f"{self.path}: cannot read as CSV after row {done + 1} ({err})") from err

    def _parquet_file(self):
        try:
            import pyarrow.parquet as pq
        except ImportError as err:
            raise DataError(f"{self.path}: reading Parquet needs pyarrow: pip install 'maskfuse[parquet]'") from err
        try:
            return pq.ParquetFile(self.path)
        except Exception as err:  # pyarrow raises several types for corrupt files
            raise DataError(f"{self.path}: not a readable Parquet file ({err})") from err

    def _parquet_chunks(self, rows: int) -> Iterator[dict[str, list]]:
        try:
            for batch in self._parquet_file().iter_batches(batch_size=rows):
                yield {name: batch.column(j).to_pylist() for j, name in enumerate(batch.schema.names)}
        except DataError:
            raise
        except Exception as err:
            raise DataError(f"{self.path}: not a readable Parquet file ({err})") from err


def read_columns(path: Path) -> Columns:
    """A .csv / .tsv or .parquet file read whole as `Columns`."""
    table = TableFile(path)
    parts: dict[str, list] = {name: [] for name in table.names}
    for chunk in table.chunks():
        for name, cells in chunk.items():
            parts[name].extend(cells)
    data = {}
    for name, cells in parts.items():
        col = np.empty(len(cells), dtype=object)
        col[:] = cells
        data[name] = col
    return Columns(path, data, table.first_row)
