"""Samples decoded when a batch asks for them: image and audio files, or the encoded
cells of a Hugging Face table.

A `LazyRows` split holds only where its samples are (`FileCells`: paths; `TableCells`:
rows of a memory-mapped table) and a `Decoder` that turns one of them into a
fixed-shape float32 array. `settle` then decides, from the decoded size, whether the
splits are read once and held (`data.memory_mb`; small sets train faster that way)
or stay on demand, so a folder of any size trains without being held in memory. It
settles the rows of .npz arrays (`arrays.ArrayRows`) the same way. Input statistics
of on-demand data come from `STAT_ROWS` training rows.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.arrays import ArrayRows
from maskfuse.data.base import ArrayDataset, input_stats
from maskfuse.data.readers import pad_clip, read_audio, read_image, readable
from maskfuse.errors import DataError
from maskfuse.progress import progress

STAT_ROWS = 2048  # training rows the input mean and std of on-demand data are estimated on
CHUNK = 512  # rows decoded at a time when a split is read whole

Source = Path | BinaryIO
Stats = tuple[float, ...]  # per-channel mean or std


@dataclass
class Decoder:
    """One encoded image or audio clip -> a float32 array of one fixed shape.

    Attributes:
        kind: "image" or "audio".
        mode: PIL mode every image is converted to.
        size: Size images are resized to, N (N x N) or (width, height); None: the size of
            the first one, and later ones of another size are resized to it.
        rate: Sample rate audio is resampled to.
        samples: Audio clip length; longer clips are cropped, shorter ones NaN-padded.
        shape: The shape every decoded sample has, set by `prime`.
    """

    kind: str
    mode: str = "RGB"
    size: int | tuple[int, int] | None = None
    rate: int = 8000
    samples: int = 8000
    shape: tuple[int, ...] = ()

    def __call__(self, source: Source | None, where: str) -> np.ndarray:
        if source is None:  # paired data: the modality is absent from this row
            return np.zeros(self.shape, np.float32)
        if self.kind == "audio":
            return pad_clip(read_audio(source, self.rate, where), self.samples)
        size = self.size if self.size is not None or not self.shape else (self.shape[2], self.shape[1])
        return read_image(source, self.mode, size, where)

    def many(self, cells: list[tuple[Source | None, str]]) -> np.ndarray:
        """The samples of `cells` ((source, where) pairs) stacked."""
        return np.stack([self(source, where) for source, where in cells])

    def prime(self, source: Source, where: str) -> np.ndarray:
        """Decode the first sample and fix the shape every other one gets."""
        first = self(source, where)
        self.shape = first.shape
        return first


@dataclass
class FileCells:
    """Files on disk, by row (None: absent), each named in errors by `names` or its path."""

    paths: list[Path | None]
    names: list[str] | None = None

    def __call__(self, rows: np.ndarray) -> list[tuple[Source | None, str]]:
        return [(self.paths[r], self.names[r] if self.names else str(self.paths[r])) for r in rows]

    def origin(self, rows: np.ndarray) -> list[str]:
        """Where each row comes from: its file."""
        return [self.names[r] if self.names else str(self.paths[r]) for r in rows]


def encoded(cell: object, where: str) -> io.BytesIO | Path:
    """An `Image` / `Audio` table cell left undecoded: its bytes, else the file it names."""
    if not isinstance(cell, dict) or not (cell.get("bytes") or cell.get("path")):
        raise DataError(f"{where}: empty cell (expected encoded bytes or a file path)")
    return io.BytesIO(cell["bytes"]) if cell.get("bytes") else Path(cell["path"])


@dataclass
class TableCells:
    """Encoded cells of one column of a (memory-mapped) `datasets.Dataset`, by row."""

    table: object
    column: str
    where: str

    def __call__(self, rows: np.ndarray) -> list[tuple[Source, str]]:
        cells = self.table[rows.tolist()][self.column]
        named = [(c, f"{self.where}, row {r}") for c, r in zip(cells, rows.tolist())]
        return [(encoded(c, where), where) for c, where in named]

    def origin(self, rows: np.ndarray) -> list[str]:
        return [f"row {r}" for r in rows.tolist()]


@dataclass
class LazyRows:
    """One split of samples decoded batch by batch; only their locations stay in memory."""

    cells: Callable[[np.ndarray], list[tuple[Source, str]]]  # FileCells, TableCells or text.DocCells
    rows: np.ndarray  # which of the cells belong to this split, in order
    decode: Decoder  # or text.TextIds, ...: anything with `shape` whose `many` stacks the arrays of cells
    modality: str
    labels: torch.Tensor | None = None  # [N] int64, by position in `rows`
    in_memory: ClassVar[bool] = False

    def __len__(self) -> int:
        return len(self.rows)

    def inputs(self, index: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.decode.many(self.cells(self.rows[index])))

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        index = index.numpy()
        out = {self.modality: self.inputs(index)}
        if self.labels is not None:
            out["label"] = self.labels[index]
        return out

    def origins(self, index: np.ndarray) -> list[str] | None:
        """Where the samples at positions `index` come from (file, line), when the cells say."""
        origin = getattr(self.cells, "origin", None)
        return None if origin is None else origin(self.rows[index])

    @property
    def shape(self) -> tuple[int, ...]:
        return self.decode.shape

    def head(self, rows: int) -> LazyRows:
        """The first `rows` samples, still on demand."""
        return self.take(np.arange(min(rows, len(self))))

    def take(self, rows: np.ndarray) -> LazyRows:
        """The samples at positions `rows`, still on demand."""
        return replace(self, rows=self.rows[rows], labels=None if self.labels is None else self.labels[rows])

    def sample(self, rows: int) -> LazyRows:
        """Rows to estimate input statistics on: the first ones (file splits come shuffled)."""
        return self.head(rows)

    def decoded(self) -> ArrayDataset:
        """Every sample of the split decoded, in memory."""
        index = np.arange(len(self))
        starts = range(0, len(index), CHUNK)
        parts = []
        with progress(f"decoding {len(index)} {self.modality} rows", len(starts)) as advance:
            for i in starts:
                parts.append(self.inputs(index[i : i + CHUNK]))
                advance()
        return ArrayDataset(torch.cat(parts), self.labels, self.modality)


def fits(rows: int, shapes: list[tuple[int, ...]], memory_mb: float) -> bool:
    """Whether `rows` samples of float32 arrays of these shapes (one per modality) fit in
    `memory_mb` MiB."""
    return rows * 4 * sum(math.prod(shape) for shape in shapes) <= memory_mb * 2**20


def settle(
    train: LazyRows | ArrayRows, test: LazyRows | ArrayRows, memory_mb: float
) -> tuple[LazyRows | ArrayRows | ArrayDataset, LazyRows | ArrayRows | ArrayDataset, Stats, Stats]:
    """Both splits (`LazyRows` or `ArrayRows`), held decoded when they fit in `memory_mb`
    MiB, else left on demand, with the training split's input mean and std (estimated on
    `STAT_ROWS` rows of `train.sample` then)."""
    if fits(len(train) + len(test), [train.shape], memory_mb):
        train, test = train.decoded(), test.decoded()
        return train, test, *input_stats(train.inputs, train.modality)
    return train, test, *input_stats(train.sample(STAT_ROWS).decoded().inputs, train.modality)


def readable_files(
    paths: list[Path], labels: list | None, kind: str, skip: bool, source: str
) -> tuple[list[Path], list | None, list[str]]:
    """(paths, labels, notes): with data.on_error=skip, the files whose header cannot be
    read are dropped and counted (a quick pass over every header); else all of them."""
    if not skip:
        return paths, labels, []
    keep = [i for i, p in enumerate(paths) if readable(p, kind)]
    if not keep:
        raise DataError(f"{source}: none of the {len(paths)} {kind} files could be read")
    dropped = len(paths) - len(keep)
    notes = [f"skipped {dropped} unreadable {kind} files (data.on_error=skip)"] if dropped else []
    return [paths[i] for i in keep], None if labels is None else [labels[i] for i in keep], notes


def file_splits(
    paths: list[Path], y: np.ndarray | None, rows: tuple[np.ndarray, np.ndarray], decode: Decoder, cfg: DataConfig
) -> tuple[LazyRows | ArrayDataset, LazyRows | ArrayDataset, Stats, Stats]:
    """Train and test splits of files (by `rows`), settled by `settle`, with the training
    split's input statistics. Each split's order is shuffled once by data.split_seed: files
    come sorted by class, and data.max_train and the statistics take the first rows."""
    decode.prime(paths[0], str(paths[0]))
    rng = np.random.default_rng(cfg.split_seed)
    cells = FileCells(paths)

    def split(idx: np.ndarray) -> LazyRows:
        labels = None if y is None else torch.as_tensor(y[idx], dtype=torch.int64)
        return LazyRows(cells, idx, decode, decode.kind, labels)

    tr, te = (rng.permutation(r) for r in rows)
    return settle(split(tr), split(te), cfg.memory_mb)
