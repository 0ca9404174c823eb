"""Read CSV and Parquet files as named columns, with errors that name the file, row and column.

CSV goes through Python's csv module (no pandas dependency); Parquet through pyarrow
(the `parquet` extra). Row numbers in messages are the CSV line numbers (header = 1),
or 0-based row indices for Parquet.
"""

from __future__ import annotations

import bz2
import csv
import gzip
from pathlib import Path

import numpy as np

from maskfuse.errors import DataError

MISSING = {"", "na", "nan", "null", "none", "?"}


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

    def numeric(self, name: str) -> np.ndarray:
        """Column `name` as float64, missing cells as NaN; a non-number names its row."""
        out = np.empty(len(self), dtype=np.float64)
        for i, cell in enumerate(self.column(name, "numbers")):
            out[i] = to_float(cell, lambda i=i: f"{self.row_name(i)}, column '{name}'")
        return out


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


def read_columns(path: Path) -> Columns:
    """A .csv / .tsv or .parquet file as `Columns`."""
    suffixes = [s.lower() for s in path.suffixes]
    packed = suffixes[-1] if suffixes and suffixes[-1] in (".gz", ".bz2") else None
    suffix = suffixes[-2] if packed and len(suffixes) > 1 else path.suffix.lower()
    if suffix == ".parquet":
        return _parquet(path)
    if suffix in (".csv", ".tsv", ".txt"):
        return _csv(path, "\t" if suffix == ".tsv" else ",", packed)
    raise DataError(f"{path}: expected a .csv, .tsv or .parquet file (.csv and .tsv may be .gz or .bz2)")


def _csv(path: Path, delimiter: str, packed: str | None = None) -> Columns:
    opener = {None: open, ".gz": gzip.open, ".bz2": bz2.open}[packed]
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter=delimiter))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: cannot read as CSV ({err})") from err
    if not rows:
        raise DataError(f"{path}: empty file; expected a header row and data rows")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        raise DataError(f"{path}: repeated column names in the header {header}")
    body = rows[1:]
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise DataError(f"{path}, row {i + 2}: {len(row)} cells, the header has {len(header)}")
    data = {}
    for j, name in enumerate(header):
        col = np.empty(len(body), dtype=object)
        col[:] = [None if r[j].strip().lower() in MISSING else r[j].strip() for r in body]
        data[name] = col
    return Columns(path, data, first_row=2)


def _parquet(path: Path) -> Columns:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise DataError(f"{path}: reading Parquet needs pyarrow: pip install 'maskfuse[parquet]'") from err
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise DataError(f"{path}: not a readable Parquet file ({err})") from err
    data = {}
    for name in table.column_names:
        col = np.empty(table.num_rows, dtype=object)
        col[:] = table.column(name).to_pylist()
        data[name] = col
    return Columns(path, data, first_row=0)
