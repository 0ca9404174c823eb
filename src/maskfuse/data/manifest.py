"""A paired-data manifest: one row per instance, one column per modality.

CSV, JSONL or Parquet. data.modalities declares each modality as "column:kind":
  image       a path to an image file (relative to the manifest), read as RGB / grey
              (data.channels) and resized to data.image_size when given
  audio       a path to an audio file, resampled to data.sample_rate, cut to data.max_seconds
  text        the text itself (a WordPiece / BPE vocabulary is trained on the training split)
  timeseries  inline values: a JSON list ([..] one channel, [[..], [..]] channels) or
              numbers separated by spaces, commas or semicolons
  and the kinds modality folders add (`FILE_KINDS`), each a path to a file decoded with
  that folder's settings: video (a clip, read as data.name=video-folder reads one)
An empty cell means the modality is missing for that row (a row needs at least one).
One pass reads the manifest a chunk of rows at a time and keeps each column's cells in a
temporary file (`data/manifest_cells.py`); batches then read, decode and tokenize their
own rows (`data/ondemand.py`), unless every column of both splits fits in data.memory_mb,
when all of it is read once and held.
data.label_column names an optional label column. Errors name the file, row and column.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from maskfuse.config import Config, DataConfig
from maskfuse.data.base import Splits, given_split, source_path, split_indices
from maskfuse.data.manifest_cells import Manifest, PadSeries, StoredFiles, StoredSeries, read_manifest, series_width
from maskfuse.data.ondemand import STAT_ROWS, Decoder, LazyRows, fits
from maskfuse.data.paired import PairedDataset, paired_spec
from maskfuse.data.readers import SIZE_SAMPLE, image_format
from maskfuse.data.text import TextIds, build_vocabulary, column_vocab, vocabulary_meta
from maskfuse.data.text_docs import DocCells, TableDocs, doc_chunks
from maskfuse.data.timeseries import encode_labels, marker_codes
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec

KINDS = ("image", "audio", "text", "timeseries")
FILE_KINDS: dict[str, Callable[[Config], object]] = {}  # kind -> the decoder of its file cells, built from
# the run's config (a `Decoder`-like object: shape, prime, many); a modality folder adds its own, e.g. video


def declared(cfg: DataConfig, path: Path) -> dict[str, str]:
    """data.modalities as {column: kind}."""
    if not cfg.modalities:
        raise DataError(f"{path}: declare the manifest's modalities, e.g. data.modalities=[photo:image,caption:text]")
    out = {}
    for entry in cfg.modalities:
        column, _, kind = entry.partition(":")
        if kind not in (*KINDS, *FILE_KINDS):
            known = ", ".join((*KINDS, *FILE_KINDS))
            raise DataError(f"data.modalities: '{entry}' must be column:kind with kind one of {known}")
        out[column] = kind
    return out


def file_column(
    kind: str, m: Manifest, column: str, train: np.ndarray, cfg: DataConfig, notes: list[str], run: Config
) -> LazyRows:
    """A column of file paths decoded on demand (absent rows decode to zeros): by the
    decoder a modality folder gives its kind (`FILE_KINDS`, from the run's config), else
    as images or audio (`media_decoder`)."""
    cells = StoredFiles(m.path, m.first_row, column, m.stores[column])
    folder_kind = FILE_KINDS.get(kind)
    decode = folder_kind(run) if folder_kind else media_decoder(kind, cells, m, column, train, cfg, notes)
    decode.prime(*cells(m.rows_with(column)[:1])[0])
    return LazyRows(cells, np.arange(len(m)), decode, kind)


def media_decoder(
    kind: str, cells: StoredFiles, m: Manifest, column: str, train: np.ndarray, cfg: DataConfig, notes: list[str]
) -> Decoder:
    """The decoder of an image or audio column. Images take data.image_size, else the
    commonest size of a sample of the column's training rows when sizes differ (a note in
    `notes` says so), else the size of the first file."""
    samples = max(1, round(cfg.sample_rate * cfg.max_seconds))
    mode = "L" if cfg.channels == 1 else "RGB"
    size = cfg.image_size
    if kind == "image":
        present = np.intersect1d(train, m.rows_with(column))
        some = present[np.unique(np.linspace(0, len(present) - 1, min(SIZE_SAMPLE, len(present))).astype(int))]
        found = cells(some)
        _, size, said = image_format([p for p, _ in found], cfg.channels, cfg.image_size, [w for _, w in found])
        notes += [f"column '{column}': {note}" for note in said]
    return Decoder(kind, mode=mode, size=size, rate=cfg.sample_rate, samples=samples)


def text_column(m: Manifest, column: str, train: np.ndarray, cfg: DataConfig) -> tuple[LazyRows, DataSpec]:
    """A text column tokenized on demand, with its spec: the vocabulary is trained on the
    training split's texts, read in split order; the length is that of the longest text."""
    docs = TableDocs(m.stores[column], m.path, m.first_row)
    rows = m.rows_with(column)
    seen = train[np.isin(train, rows)]
    if not len(seen):
        raise DataError(f"{m.path}, column '{column}': no text in the training split")
    tok = build_vocabulary((text for chunk in doc_chunks(docs, seen) for text in chunk), column_vocab(cfg, column))
    length = max((len(e.ids) for chunk in doc_chunks(docs, rows) for e in tok.encode_batch(chunk)), default=0)
    spec = DataSpec("text", (length,), (0.0,), (1.0,), meta=vocabulary_meta(tok))
    return LazyRows(DocCells(docs), np.arange(len(m)), TextIds(tok, length), "text"), spec


def column_stats(column: torch.Tensor | LazyRows, rows: np.ndarray, kind: str, seed: int) -> DataSpec:
    """The spec of a file or series column from its present training `rows` (a seeded
    sample of STAT_ROWS of them while the column stays on demand)."""
    if not torch.is_tensor(column):
        if len(rows) > STAT_ROWS:
            rows = np.sort(np.random.default_rng(seed).choice(rows, STAT_ROWS, replace=False))
        seen = column.take(rows).decoded().inputs.numpy()
        shape = column.decode.shape
    else:
        seen, shape = column[torch.as_tensor(rows)].numpy(), tuple(column.shape[1:])
    axes = (0, *range(2, seen.ndim))  # per channel
    mean, std = np.nanmean(seen, axis=axes), np.maximum(np.nanstd(seen, axis=axes), 1e-3)
    return DataSpec(kind, shape, tuple(map(float, mean)), tuple(map(float, std)))


@DATASETS.register("manifest")
def load_manifest(cfg: DataConfig, run: Config) -> Splits:
    """Paired multimodal rows from a CSV / JSONL / Parquet manifest (data.modalities)."""
    path = source_path(cfg.path, "paired-data manifest (.csv, .jsonl, .parquet)", "manifest", folder=False)
    kinds = declared(cfg, path)
    m = read_manifest(path, kinds, cfg.label_column, cfg.allow_outside, cfg.split_column)
    if len(m) < 2:
        raise DataError(f"{path}: a manifest needs at least 2 rows, has {len(m)}")
    empty = np.flatnonzero(~m.present.any(1))
    if len(empty):
        raise DataError(f"{m.where(empty[0])}: every modality ({', '.join(kinds)}) is empty")
    for c in kinds:
        if not len(m.rows_with(c)):
            raise DataError(f"{path}, column '{c}': every cell is empty")
    y, names = (None, ()) if m.labels is None else encode_labels(m.labels, str(path))
    if m.marks is None:
        tr, te = split_indices(len(m), y, cfg.test_fraction, cfg.split_seed, str(path))
    else:  # the manifest's own split column
        codes, distinct = marker_codes(m.marks)
        column = f"{path}, column '{cfg.split_column}'"
        tr, te = given_split(codes, distinct, column, lambda row: m.where(row, cfg.split_column))
    for c in kinds:  # sizes, statistics and vocabularies are fitted on the training rows
        if not len(np.intersect1d(tr, m.rows_with(c))):
            raise DataError(
                f"{path}, column '{c}': no training row has a cell in it, only held-out rows do; "
                "each modality needs training rows (add rows, or change the split)"
            )
    parts, specs, notes = {}, {}, []
    for c, kind in kinds.items():
        if kind == "text":
            parts[c], specs[c] = text_column(m, c, tr, cfg)
        elif kind == "timeseries":
            decode = PadSeries((*m.channels[c], series_width(m, c)))
            parts[c] = LazyRows(StoredSeries(m.channels[c], m.stores[c]), np.arange(len(m)), decode, kind)
        else:
            parts[c] = file_column(kind, m, c, tr, cfg, notes, run)
    if fits(len(m), [(2 * x.shape[0],) if kinds[c] == "text" else x.shape for c, x in parts.items()], cfg.memory_mb):
        parts = {c: x.decoded().inputs for c, x in parts.items()}  # small enough: read once, held
    for c in kinds:  # in declared order
        if c not in specs:
            seen = np.intersect1d(tr, m.rows_with(c))
            specs[c] = column_stats(parts[c], seen, kinds[c], cfg.split_seed)
    specs = {c: specs[c] for c in kinds}
    flags = torch.as_tensor(m.present)

    every = PairedDataset(parts, flags, None if y is None else torch.as_tensor(y))
    return Splits(every.take(tr), every.take(te), paired_spec(specs, names), f"manifest ({path})", notes)


load_manifest.reads_run = True  # a column of a modality folder's kind decodes with that folder's settings
