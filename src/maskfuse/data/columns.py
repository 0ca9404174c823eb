"""Read CSV and Parquet files as named columns, with errors that name the file, row and column.

`TableFile` streams a table a chunk of rows at a time; `read_columns` reads it whole. CSV
is parsed by pyarrow when it is installed (the `parquet` extra), which also turns numeric
cells into numbers in C, else by Python's csv module; both give the same cells, and the
csv module takes over wherever pyarrow stops, to name a bad row. No pandas. Parquet goes
through pyarrow. Rows in messages are CSV record numbers (header = 1), or Parquet indices.
"""

from __future__ import annotations

import bz2
import csv
import functools
import gzip
import itertools
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np

from maskfuse.errors import DataError

MISSING = {"", "na", "nan", "null", "none", "?"}
CHUNK_CELLS = 1 << 20  # cells read at a time when a table is streamed (a few tens of MiB as Python objects)
ARROW_BLOCK = 1 << 22  # bytes of CSV text pyarrow parses at a time


class Columns:
    """Columns of a table held in memory (scikit-learn's sets, `read_columns`): name -> object
    array of cells (None = missing)."""

    def __init__(self, path: Path, data: dict[str, np.ndarray], first_row: int) -> None:
        self.path, self.data, self.first_row = path, data, first_row

    @property
    def names(self) -> list[str]:
        return list(self.data)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def row_name(self, i: int) -> str:
        return f"{self.path}, row {i + self.first_row}"

    def chunks(self) -> Iterator[dict[str, ListCells]]:
        """The rows in order, a chunk at a time, like `TableFile.chunks`."""
        rows = chunk_rows(len(self.data))
        for lo in range(0, len(self), rows):
            yield {name: ListCells(col[lo : lo + rows].tolist()) for name, col in self.data.items()}


def _blank_row(batch) -> bool:
    """Whether a row of a pyarrow batch is empty in every column: pyarrow reads a blank line
    that way, where the csv module sees a short row (or it was a row of empty cells)."""
    import pyarrow.compute as pc

    rows = pc.equal(batch.column(0), "")
    for j in range(1, batch.num_columns):
        if not pc.any(rows).as_py():
            return False
        rows = pc.and_(rows, pc.equal(batch.column(j), ""))
    return pc.any(rows).as_py()


def chunk_rows(width: int) -> int:
    """Rows per chunk of a table `width` columns wide."""
    return max(64, CHUNK_CELLS // max(1, width))


def _cells(column: tuple[str, ...] | list[str]) -> list[str | None]:
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

    def chunks(self) -> Iterator[dict[str, ListCells | ArrowCells]]:
        """The table's rows in order, a chunk at a time, as column name -> its cells (`.cells`,
        None = missing; `.numbers()`, float64 or None when a cell is not a number)."""
        rows = chunk_rows(len(self.names))
        return self._parquet_chunks(rows) if self.parquet else self._csv_chunks(rows)

    def _open_csv(self, binary: bool = False):
        opener = {None: open, ".gz": gzip.open, ".bz2": bz2.open}[self.packed]
        return opener(self.path, "rb") if binary else opener(self.path, "rt", newline="", encoding="utf-8-sig")

    def _csv_header(self) -> list[str]:
        try:
            with self._open_csv() as f:
                first = next(csv.reader(f, delimiter=self.delimiter), None)
        except UnicodeDecodeError as err:
            raise self._not_utf8(err) from err
        except (OSError, EOFError, csv.Error) as err:
            raise DataError(f"{self.path}: cannot read as CSV ({err})") from err
        if first is None:
            raise DataError(f"{self.path}: empty file; expected a header row and data rows")
        self.raw_names = first
        header = [h.strip() for h in first]
        if len(set(header)) != len(header):
            raise DataError(f"{self.path}: repeated column names in the header {header}")
        return header

    def _csv_chunks(self, rows: int) -> Iterator[dict[str, ListCells | ArrowCells]]:
        """pyarrow's CSV reader when it is installed: it parses in C, and its cells convert to
        numbers in C. From the first batch pyarrow refuses or reads differently (a blank
        line), or without pyarrow, Python's csv module, which names the bad row."""
        done, arrow = 0, self._arrow_chunks()
        while True:
            try:
                chunk = next(arrow)
            except StopIteration as stop:
                if stop.value:  # pyarrow read the whole file
                    return
                break
            yield chunk
            done += len(next(iter(chunk.values())))
        yield from self._python_chunks(rows, done)

    def _arrow_chunks(self) -> Generator[dict[str, ArrowCells], None, bool]:
        """pyarrow's batches, until one it reads differently; returns whether it read them all."""
        try:
            import pyarrow as pa
            import pyarrow.csv as pacsv
        except ImportError:
            return False
        codec = {None: None, ".gz": "gzip", ".bz2": "bz2"}[self.packed]
        if codec and not pa.Codec.is_available(codec):
            return False
        read = pacsv.ReadOptions(block_size=ARROW_BLOCK)
        parse = pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True, ignore_empty_lines=False)
        convert = pacsv.ConvertOptions(column_types=dict.fromkeys(self.raw_names, pa.string()), null_values=[],
                                       strings_can_be_null=False, quoted_strings_can_be_null=False)  # fmt: skip
        try:
            with pa.input_stream(str(self.path), compression=codec) as stream:
                reader = pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert)
                if reader.schema.names != self.raw_names:
                    return False
                for batch in reader:
                    if _blank_row(batch):
                        return False
                    yield {name: ArrowCells(batch.column(j)) for j, name in enumerate(self.names)}
        except (pa.ArrowException, OSError):
            return False  # the Python reader takes over at the first record not yielded, and names what is wrong
        return True

    def _python_chunks(self, rows: int, skip: int) -> Iterator[dict[str, ListCells]]:
        width, done = len(self.names), skip
        try:
            with self._open_csv() as f:
                reader = csv.reader(f, delimiter=self.delimiter)
                for _ in itertools.islice(reader, skip + 1):  # the header, and the records already read
                    pass
                while block := list(itertools.islice(reader, rows)):
                    for i, row in enumerate(block):
                        if len(row) != width:
                            raise DataError(f"{self.row_name(done + i)}: {len(row)} cells, the header has {width}")
                    yield {name: ListCells(_cells(column)) for name, column in zip(self.names, zip(*block))}
                    done += len(block)
        except UnicodeDecodeError as err:
            raise self._not_utf8(err) from err
        except (OSError, EOFError, csv.Error) as err:
            raise DataError(f"{self.path}: cannot read as CSV after row {done + 1} ({err})") from err

    def _not_utf8(self, err: UnicodeDecodeError) -> DataError:
        """The error naming the first line that is not UTF-8 (a line: a quoted cell may span lines)."""
        with self._open_csv(binary=True) as f:
            for number, raw in enumerate(f, 1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as bad:
                    return DataError(f"{self.path}, line {number}: not UTF-8 text ({bad.reason}); save it as UTF-8")
        return DataError(f"{self.path}: not UTF-8 text ({err.reason})")

    def _parquet_file(self):
        try:
            import pyarrow.parquet as pq
        except ImportError as err:
            raise DataError(f"{self.path}: reading Parquet needs pyarrow: pip install 'maskfuse[parquet]'") from err
        try:
            return pq.ParquetFile(self.path)
        except Exception as err:  # pyarrow raises several types for corrupt files
            raise DataError(f"{self.path}: not a readable Parquet file ({err})") from err

    def _parquet_chunks(self, rows: int) -> Iterator[dict[str, ListCells]]:
        try:
            for batch in self._parquet_file().iter_batches(batch_size=rows):
                yield {name: ListCells(batch.column(j).to_pylist()) for j, name in enumerate(batch.schema.names)}
        except DataError:
            raise
        except Exception as err:
            raise DataError(f"{self.path}: not a readable Parquet file ({err})") from err


class ListCells:
    """One column of a chunk as Python cells (None = missing)."""

    def __init__(self, cells: list) -> None:
        self.cells = cells

    def __len__(self) -> int:
        return len(self.cells)

    def numbers(self) -> np.ndarray | None:
        """The cells as float64 (NaN if missing), or None when one is not a number."""
        try:
            return np.array([np.nan if c is None else float(c) for c in self.cells], dtype=np.float64)
        except (ValueError, TypeError):  # a missing spelling float() does not know, or not a number
            pass
        try:
            return np.array([to_float(c, str) for c in self.cells], dtype=np.float64)
        except DataError:
            return None

    def codes(self, known: dict) -> np.ndarray:
        """Each cell's number in `known`; a cell not in it yet gets the next number, in the
        order the cells are met."""
        return np.fromiter((known.setdefault(c, len(known)) for c in self.cells), np.int64, len(self.cells))


class ArrowCells:
    """One column of a CSV chunk parsed by pyarrow, kept as raw strings: numbers convert in
    C; anything pyarrow will not convert goes through `ListCells`, so both agree."""

    def __init__(self, array) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    @functools.cached_property
    def cells(self) -> list[str | None]:
        return _cells(self.array.to_pylist())

    def codes(self, known: dict) -> np.ndarray:
        """As `ListCells.codes`, normalising only the distinct cells (pyarrow's dictionary
        lists them in the order met)."""
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(self.array)
        distinct = ListCells(_cells(encoded.dictionary.to_pylist())).codes(known)
        return distinct[encoded.indices.to_numpy(zero_copy_only=False)]

    def numbers(self) -> np.ndarray | None:
        import pyarrow as pa
        import pyarrow.compute as pc

        try:  # every cell a number ("nan" is one)
            return pc.cast(self.array, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            pass
        # exact missing spellings become nulls; a padded one (" NA ") fails the cast and takes the slow path
        missing = pc.is_in(pc.ascii_lower(self.array), value_set=pa.array(sorted(MISSING)))
        try:
            values = pc.cast(pc.if_else(missing, pa.scalar(None, pa.string()), self.array), pa.float64())
        except pa.ArrowInvalid:  # not a number to pyarrow: padded, "1_000", non-ASCII digits, or text
            return ListCells(self.cells).numbers()
        return values.to_numpy(zero_copy_only=False)


def read_columns(path: Path) -> Columns:
    """A .csv / .tsv or .parquet file read whole as `Columns`."""
    table = TableFile(path)
    parts: dict[str, list] = {name: [] for name in table.names}
    for chunk in table.chunks():
        for name, cells in chunk.items():
            parts[name].extend(cells.cells)
    data = {name: np.fromiter(cells, dtype=object, count=len(cells)) for name, cells in parts.items()}
    return Columns(path, data, table.first_row)
