"""A paired-data manifest: one row per instance, one column per modality.

CSV, JSONL or Parquet. data.modalities declares each modality as "column:kind":
  image       a path to an image file (relative to the manifest), read as RGB / grey
              (data.channels) and resized to data.image_size when given
  audio       a path to an audio file, resampled to data.sample_rate, cut to data.max_seconds
  text        the text itself (a WordPiece / BPE vocabulary is trained on the training split)
  timeseries  inline values: a JSON list ([..] one channel, [[..], [..]] channels) or
              numbers separated by spaces, commas or semicolons
An empty cell means the modality is missing for that row (a row needs at least one).
Image and audio files are decoded on demand (`data/ondemand.py`), or read once and held
when they fit in data.memory_mb.
data.label_column names an optional label column. Errors name the file, row and column.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.base import DataSpec, Splits, source_path, split_indices
from maskfuse.data.columns import MISSING, Columns, read_columns
from maskfuse.data.ondemand import STAT_ROWS, Decoder, FileCells, LazyRows, fits
from maskfuse.data.paired import PairedDataset, paired_spec
from maskfuse.data.text import build_vocabulary, pad_ids, vocabulary_meta
from maskfuse.data.timeseries import encode_labels
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

KINDS = ("image", "audio", "text", "timeseries")


def declared(cfg: DataConfig, path: Path) -> dict[str, str]:
    """data.modalities as {column: kind}."""
    if not cfg.modalities:
        raise DataError(f"{path}: declare the manifest's modalities, e.g. data.modalities=[photo:image,caption:text]")
    out = {}
    for entry in cfg.modalities:
        column, _, kind = entry.partition(":")
        if kind not in KINDS:
            raise DataError(f"data.modalities: '{entry}' must be column:kind with kind one of {', '.join(KINDS)}")
        out[column] = kind
    return out


def read_jsonl(path: Path) -> Columns:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}, line {i + 1}: not JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}, line {i + 1}: expected a JSON object per line")
            rows.append(row)
    names = list(dict.fromkeys(k for r in rows for k in r))
    data = {n: np.asarray([r.get(n) for r in rows] + [None], dtype=object)[:-1] for n in names}
    return Columns(path, data, 1)


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


def stack_padded(arrays: list[np.ndarray | None], fill: float) -> np.ndarray:
    """Arrays [C, T_i] (None = absent) -> [N, C, max T] with `fill` padding and zero rows."""
    first = next(a for a in arrays if a is not None)
    width = max(a.shape[-1] for a in arrays if a is not None)
    out = np.zeros((len(arrays), *first.shape[:-1], width), dtype=np.float32)
    for i, a in enumerate(arrays):
        if a is not None:
            out[i, ..., : a.shape[-1]] = a
            out[i, ..., a.shape[-1] :] = fill
    return out


def read_cells(cols: Columns, column: str, kind: str, cfg: DataConfig, root: Path) -> list:
    """Per row: the decoded cell (array, or str for text) or None when missing."""
    out = []
    for i, cell in enumerate(cols.column(column, f"modality {column} (data.modalities)")):
        where = f"{cols.row_name(i)}, column '{column}'"
        if is_missing(cell):
            out.append(None)
        elif kind == "text":
            if not isinstance(cell, str):
                raise DataError(f"{where}: expected text, got {type(cell).__name__} {cell!r}")
            out.append(cell)
        elif kind == "timeseries":
            out.append(parse_series(cell, where))
        else:
            if not isinstance(cell, str):
                raise DataError(f"{where}: expected a file path, got {type(cell).__name__} {cell!r}")
            file = (root / cell).resolve()
            if not file.is_file():
                raise DataError(f"{where}: {kind} file {file} does not exist")
            out.append((file, where))  # decoded on demand (file_column)
    return out


def file_column(kind: str, cells: list, cfg: DataConfig) -> LazyRows:
    """An image / audio column as files decoded on demand (absent rows decode to zeros);
    the first present file fixes the shape."""
    samples = max(1, round(cfg.sample_rate * cfg.max_seconds))
    mode = "L" if cfg.channels == 1 else "RGB"
    decode = Decoder(kind, mode=mode, size=cfg.image_size, rate=cfg.sample_rate, samples=samples)
    files = [None if c is None else c[0] for c in cells]
    names = ["" if c is None else f"{c[1]}: {c[0]}" for c in cells]
    first = next(i for i, f in enumerate(files) if f is not None)
    decode.prime(files[first], names[first])
    return LazyRows(FileCells(files, names), np.arange(len(cells)), decode, kind)


def file_stats(column: torch.Tensor | LazyRows, rows: np.ndarray, kind: str, seed: int) -> DataSpec:
    """The spec of a file column from its present training `rows` (a seeded sample of
    STAT_ROWS of them while the files stay on demand)."""
    if not torch.is_tensor(column):
        if len(rows) > STAT_ROWS:
            rows = np.sort(np.random.default_rng(seed).choice(rows, STAT_ROWS, replace=False))
        seen = replace(column, rows=column.rows[rows]).decoded().inputs.numpy()
        shape = column.decode.shape
    else:
        seen, shape = column[torch.as_tensor(rows)].numpy(), tuple(column.shape[1:])
    axes = (0, 2, 3) if kind == "image" else (0, 2)
    mean, std = np.nanmean(seen, axis=axes), np.maximum(np.nanstd(seen, axis=axes), 1e-3)
    return DataSpec(kind, shape, tuple(map(float, mean)), tuple(map(float, std)))


def modality_part(kind: str, cells: list, train: np.ndarray, cfg: DataConfig, where: str) -> tuple:
    """(tensor [N, ...] with zeros where absent, spec) of one declared text or series column."""
    if kind == "timeseries":
        shapes = {c.shape[:-1] for c in cells if c is not None}
        if len(shapes) > 1:
            raise DataError(f"{where}: series differ in channel count {sorted(shapes)}")
    if kind == "text":
        seen = [cells[i] for i in train if cells[i] is not None]
        if not seen:
            raise DataError(f"{where}: no text in the training split")
        tok = build_vocabulary(seen, cfg)
        ids = [[] if c is None else e.ids for c, e in zip(cells, tok.encode_batch([c or "" for c in cells]))]
        length = max(len(i) for i in ids)
        x = pad_ids(tok, ids, length)
        return torch.as_tensor(x), DataSpec("text", (length,), (0.0,), (1.0,), meta=vocabulary_meta(tok))
    x = stack_padded(cells, np.nan)
    present = np.asarray([c is not None for c in cells])
    seen = x[np.intersect1d(train, np.flatnonzero(present))]
    mean, std = np.nanmean(seen, axis=(0, 2)), np.maximum(np.nanstd(seen, axis=(0, 2)), 1e-3)
    x[~present] = 0.0
    spec = DataSpec(kind, tuple(x.shape[1:]), tuple(map(float, mean)), tuple(map(float, std)))
    return torch.as_tensor(x), spec


@DATASETS.register("manifest")
def load_manifest(cfg: DataConfig) -> Splits:
    """Paired multimodal rows from a CSV / JSONL / Parquet manifest (data.modalities)."""
    path = source_path(cfg.path, "paired-data manifest (.csv, .jsonl, .parquet)", "manifest", folder=False)
    kinds = declared(cfg, path)
    cols = read_jsonl(path) if path.suffix.lower() == ".jsonl" else read_columns(path)
    if len(cols) < 2:
        raise DataError(f"{path}: a manifest needs at least 2 rows, has {len(cols)}")
    cells = {c: read_cells(cols, c, kind, cfg, path.parent) for c, kind in kinds.items()}
    present = np.asarray([[cells[c][i] is not None for c in kinds] for i in range(len(cols))])
    empty = np.flatnonzero(~present.any(1))
    if len(empty):
        raise DataError(f"{cols.row_name(int(empty[0]))}: every modality ({', '.join(kinds)}) is empty")
    y, names = None, ()
    if cfg.label_column and cfg.label_column in cols.names:
        y, names = encode_labels(cols.column(cfg.label_column, "labels"), str(path))
    tr, te = split_indices(len(cols), y, cfg.test_fraction, cfg.split_seed)
    parts, specs = {}, {}
    for c, kind in kinds.items():
        if kind in ("image", "audio"):
            parts[c] = file_column(kind, cells[c], cfg)
        else:
            parts[c], specs[c] = modality_part(kind, cells[c], tr, cfg, f"{path}, column '{c}'")
    files = {c: x for c, x in parts.items() if not torch.is_tensor(x)}
    if fits(len(cols), [x.decode.shape for x in files.values()], cfg.memory_mb):
        parts.update({c: x.decoded().inputs for c, x in files.items()})  # small enough: read once, held
    for j, c in enumerate(kinds):  # in declared order
        seen = np.intersect1d(tr, np.flatnonzero(present[:, j]))
        specs[c] = file_stats(parts[c], seen, kinds[c], cfg.split_seed) if c in files else specs.pop(c)
    flags = torch.as_tensor(present)

    def subset(idx: np.ndarray) -> PairedDataset:
        i = torch.as_tensor(idx)
        chosen = {c: x[i] if torch.is_tensor(x) else replace(x, rows=x.rows[idx]) for c, x in parts.items()}
        return PairedDataset(chosen, flags[i], None if y is None else torch.as_tensor(y[idx]))

    return Splits(subset(tr), subset(te), paired_spec(specs, names), f"manifest ({path})")
