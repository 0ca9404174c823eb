"""Where the documents of a text source are, read by row: the lines of a .txt / .jsonl
file (`LineDocs`: where each line starts) or a CSV / Parquet text column streamed once
into a temporary file (`TableDocs`). `DocCells` hands a batch its documents.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.base import text_lines
from maskfuse.data.columns import Columns, TableFile
from maskfuse.data.scratch import Spans, SpanSink
from maskfuse.errors import DataError

CHUNK = 4096  # documents read and tokenized at a time by the passes over a corpus


@dataclass
class LineDocs:
    """The documents of a .txt / .jsonl file, one per line: only where each line starts is
    held, and `texts` reads the lines asked for."""

    path: Path
    starts: np.ndarray  # byte offset of each document's line
    numbers: np.ndarray  # its 1-based line number, for errors
    field: str | None  # the JSONL field holding the text; None for .txt

    def __len__(self) -> int:
        return len(self.starts)

    def where(self, i: int) -> str:
        return f"{self.path}, line {int(self.numbers[i])}"

    def texts(self, rows: np.ndarray) -> list[str]:
        out = []
        with open(self.path, "rb") as f:
            for r in rows:
                f.seek(int(self.starts[r]))
                line = f.readline().decode("utf-8").rstrip("\r\n")
                out.append(line if self.field is None else str(json.loads(line)[self.field]))
        return out


@dataclass
class TableDocs:
    """The documents of a CSV / Parquet text column, written one after another as UTF-8
    into a temporary file (`Spans`): `texts` reads those asked for."""

    spans: Spans
    table: Path | str  # the table, for errors
    first_row: int  # the table's number for document 0

    def __len__(self) -> int:
        return len(self.spans)

    def where(self, i: int) -> str:
        return f"{self.table}, row {int(i) + self.first_row}"

    def texts(self, rows: np.ndarray) -> list[str]:
        return [b.decode("utf-8") for b in self.spans.read(rows)]


def index_lines(path: Path, cfg: DataConfig) -> tuple[LineDocs, list | None, np.ndarray, list | None]:
    """(documents, raw labels or None, which are empty, split markers or None) of a .txt or
    .jsonl file, from one pass that holds no text. Blank JSONL lines are no documents;
    blank .txt lines are empty documents."""
    jsonl = path.name.lower().endswith(".jsonl")
    if cfg.split_column is not None and not jsonl:
        raise DataError(f"{path}: data.split_column needs a .jsonl file or a table; a .txt line holds only text")
    starts, numbers, empty, labels, marks = array("q"), array("q"), array("b"), [], []
    offset = 0
    for number, raw, line in text_lines(path):
        start, offset = offset, offset + len(raw)
        if jsonl:
            if not line.strip():
                continue
            text, label, mark = _json_row(line, path, number, cfg)
            labels.append(label)
            marks.append(mark)
        else:
            text = line
        starts.append(start)
        numbers.append(number)
        empty.append(not text or not str(text).strip())
    docs = LineDocs(
        path, np.frombuffer(starts, np.int64), np.frombuffer(numbers, np.int64), cfg.text_column if jsonl else None
    )
    has_labels = jsonl and cfg.label_column is not None and any(v is not None for v in labels)
    empty_rows = np.frombuffer(empty, np.int8).astype(bool)
    return docs, labels if has_labels else None, empty_rows, marks if cfg.split_column is not None else None


def _json_row(line: str, path: Path, number: int, cfg: DataConfig) -> tuple[object, object, object]:
    """(text, label or None, split marker or None) of one JSONL line."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}, line {number}: not JSON ({err.msg})") from None
    if not isinstance(row, dict) or cfg.text_column not in row:
        raise DataError(f"{path}, line {number}: no '{cfg.text_column}' field (data.text_column)")
    mark = row.get(cfg.split_column) if cfg.split_column else None
    return row[cfg.text_column], row.get(cfg.label_column) if cfg.label_column else None, mark


def table_documents(
    table: Columns | TableFile, cfg: DataConfig
) -> tuple[TableDocs, list | None, np.ndarray, list | None]:
    """(documents, raw labels or None, which are empty, split markers or None) of a table's
    text column, streamed a chunk of rows at a time into a temporary file."""
    named = {cfg.text_column: "text (data.text_column)", cfg.label_column: "labels (data.label_column; null for none)",
             cfg.split_column: "split markers (data.split_column)"}  # fmt: skip
    for column, what in named.items():
        if column is not None and column not in table.names:
            raise DataError(f"{table.path}: no column '{column}' ({what}); columns: {', '.join(table.names)}")
    sink, empty, labels, marks = SpanSink(".txt"), array("b"), [], []
    for chunk in table.chunks():
        for cell in chunk[cfg.text_column].cells:
            text = "" if cell is None else str(cell)
            sink.add(text.encode("utf-8"))
            empty.append(not text.strip())
        labels.extend(chunk[cfg.label_column].cells if cfg.label_column is not None else ())
        marks.extend(chunk[cfg.split_column].cells if cfg.split_column is not None else ())
    docs = TableDocs(sink.finish(), table.path, table.first_row)
    empty_rows = np.frombuffer(empty, np.int8).astype(bool)
    return docs, labels if cfg.label_column is not None else None, empty_rows, marks if cfg.split_column else None


@dataclass
class DocCells:
    """`LazyRows` cells: each document's text and where it is."""

    docs: LineDocs | TableDocs

    def __call__(self, rows: np.ndarray) -> list[tuple[str, str]]:
        return list(zip(self.docs.texts(rows), [self.docs.where(r) for r in rows]))

    def origin(self, rows: np.ndarray) -> list[str]:
        return [self.docs.where(r) for r in rows]


def doc_chunks(docs: LineDocs | TableDocs, rows: np.ndarray) -> Iterator[list[str]]:
    """The texts of `rows`, in order, `CHUNK` documents at a time."""
    for lo in range(0, len(rows), CHUNK):
        yield docs.texts(rows[lo : lo + CHUNK])
