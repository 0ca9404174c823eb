"""The arrays of an .npz archive, read row by row instead of loaded whole.

`np.savez` stores each member uncompressed, so `npz_arrays` memory-maps it where it
lies in the file (`MappedArray`). A compressed member (`np.savez_compressed`) cannot be
read by row: it is inflated into memory in its own dtype when that fits in
data.memory_mb, else into a temporary file that is then mapped the same way.
`ArrayRows` is one split over such an array: a batch converts only its own rows to
float32, so a uint8 archive stays uint8 on disk until a batch asks for it.
"""

from __future__ import annotations

import math
import os
import struct
import tokenize
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, ClassVar

import numpy as np
import torch

from maskfuse.data.base import ArrayDataset
from maskfuse.data.scratch import temp_file
from maskfuse.errors import DataError

CHUNK_MB = 64  # decoded size of one chunk when a split is read whole


@dataclass
class MappedArray:
    """An .npy array inside a file, memory-mapped when first indexed. Pickles as its
    location, so DataLoader workers map it again instead of copying it."""

    path: Path
    offset: int
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool = False
    _map: np.memmap | None = field(default=None, repr=False, compare=False)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index) -> np.ndarray:
        if self._map is None:
            order = "F" if self.fortran else "C"
            self._map = np.memmap(self.path, self.dtype, "r", self.offset, self.shape, order)
        return np.asarray(self._map[index])

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_map": None}


def npz_arrays(path: Path, memory_mb: float) -> tuple[dict[str, MappedArray | np.ndarray], list[str]]:
    """Every array of the archive by key, none read yet except compressed ones that fit in
    `memory_mb` MiB, with notes on what was inflated into a temporary file."""
    arrays, notes = {}, []
    try:
        with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                key = info.filename[: -len(".npy")]
                if info.compress_type == zipfile.ZIP_STORED:
                    arrays[key] = _stored(raw, info, path, key)
                else:
                    arrays[key] = _inflated(archive, info, path, key, memory_mb, notes)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error) as err:
        raise DataError(f"{path}: not a readable .npz archive, perhaps truncated ({err})") from err
    return arrays, notes


def _header(stream: IO[bytes], path: Path, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) from an .npy header; object arrays are refused."""
    try:
        version = np.lib.format.read_magic(stream)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(stream)
    except (ValueError, SyntaxError, TypeError, tokenize.TokenError) as err:  # numpy parses it as a literal
        raise DataError(f"{path}: '{key}' has a damaged .npy header ({err})") from err
    if dtype.hasobject:
        raise DataError(f"{path}: '{key}' holds Python objects; maskfuse reads numeric arrays only (no pickles)")
    return shape, fortran, dtype


def _stored(raw: IO[bytes], info: zipfile.ZipInfo, path: Path, key: str) -> MappedArray:
    raw.seek(info.header_offset)
    local = raw.read(30)
    if local[:4] != b"PK\x03\x04":
        raise DataError(f"{path}: '{key}' has no local zip header where the directory says")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    raw.seek(info.header_offset + 30 + name_len + extra_len)
    shape, fortran, dtype = _header(raw, path, key)
    offset = raw.tell()
    if offset + math.prod(shape) * dtype.itemsize > os.fstat(raw.fileno()).st_size:
        raise DataError(f"{path}: '{key}' is cut short (the file ends inside its data)")
    return MappedArray(path, offset, dtype, tuple(shape), fortran)


def _inflated(archive, info, path: Path, key: str, memory_mb: float, notes: list[str]) -> MappedArray | np.ndarray:
    with archive.open(info) as stream:
        shape, fortran, dtype = _header(stream, path, key)
        nbytes = math.prod(shape) * dtype.itemsize
        order = "F" if fortran else "C"
        if nbytes <= memory_mb * 2**20:
            return np.frombuffer(stream.read(nbytes), dtype, math.prod(shape)).reshape(shape, order=order)
        name = temp_file(".npy")
        with open(name, "wb") as out:
            while chunk := stream.read(2**24):
                out.write(chunk)
    notes.append(f"'{key}' is compressed: inflated {nbytes / 2**20:.0f} MiB into {name} to read it by row "
                 "(save with np.savez to map it in place)")  # fmt: skip
    return MappedArray(Path(name), 0, dtype, tuple(shape), fortran)


class RowSink:
    """Float32 rows appended a block at a time, held while they fit in `memory_mb` MiB and
    spilled to a temporary file once they do not."""

    def __init__(self, width: int, memory_mb: float) -> None:
        self.width, self.limit = width, memory_mb * 2**20
        self.rows, self.blocks, self.path, self.file = 0, [], None, None

    def add(self, block: np.ndarray) -> None:
        self.rows += len(block)
        if self.file is None and self.rows * 4 * self.width > self.limit:
            self.path = temp_file(".f32")
            self.file = open(self.path, "wb")  # noqa: SIM115 -- written block by block, closed by finish
            for held in self.blocks:
                self.file.write(held.tobytes())
            self.blocks = []
        if self.file is None:
            self.blocks.append(block)
        else:
            self.file.write(np.ascontiguousarray(block, np.float32).tobytes())

    def finish(self) -> tuple[np.ndarray, MappedArray | None]:
        """Every row [N, width], writable: in memory, or a map of the file returned with the
        `MappedArray` that reads it back."""
        if self.file is None:
            return np.concatenate(self.blocks) if self.blocks else np.empty((0, self.width), np.float32), None
        self.file.close()
        shape = (self.rows, self.width)
        return np.memmap(self.path, np.float32, "r+", shape=shape), MappedArray(
            self.path, 0, np.dtype(np.float32), shape
        )


def nan_array(shape: tuple[int, ...], dtype, memory_mb: float) -> tuple[np.ndarray, MappedArray | None]:
    """A writable array of `shape` filled with NaN: in memory when it fits in `memory_mb` MiB,
    else a map of a new temporary file, returned with the `MappedArray` that reads it back."""
    if math.prod(shape) * np.dtype(dtype).itemsize <= memory_mb * 2**20:
        return np.full(shape, np.nan, dtype), None
    path = temp_file(".nan")
    out = np.memmap(path, dtype, "w+", shape=shape)
    out[...] = np.nan
    return out, MappedArray(path, 0, np.dtype(dtype), tuple(shape))


def as_float32(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Stored rows that need no conversion but the dtype (an `ArrayRows` converter)."""
    return values.astype(np.float32, copy=False)


@dataclass
class ImageValues:
    """Stored image rows ([n, H, W] or [n, C, H, W]; uint8 0-255 or float 0-1) -> float32
    [n, C, H, W]; a float row holding NaN or inf is named by its row in the archive."""

    path: Path
    key: str

    def __call__(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if values.ndim == 3:
            values = values[:, None]
        if values.dtype == np.uint8:
            return values.astype(np.float32) / 255.0
        return FloatValues(self.path, self.key)(values, rows)


@dataclass
class FloatValues:
    """Stored rows of any numeric dtype -> float32 as they are (no rescaling: the tokenizer
    standardises with the training split's statistics); a row holding NaN or inf is named
    by its row in the archive."""

    path: Path
    key: str

    def __call__(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        out = values.astype(np.float32)
        finite = np.isfinite(out).reshape(len(out), -1).all(1)
        if not finite.all():
            row = int(rows[np.argmin(finite)])
            raise DataError(f"{self.path}: '{self.key}' row {row} holds NaN or infinite values")
        return out


@dataclass
class ArrayRows:
    """One split of an array's rows, converted to float32 batch by batch."""

    array: MappedArray | np.ndarray  # [N, ...] in its stored dtype
    rows: np.ndarray  # which rows belong to this split, in order
    convert: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (stored rows, their row numbers) -> float32
    shape: tuple[int, ...]  # one converted sample
    modality: str
    labels: torch.Tensor | None = None  # [n] int64, by position in `rows`
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # per-sample arrays over all N rows
    in_memory: ClassVar[bool] = False

    def __len__(self) -> int:
        return len(self.rows)

    def inputs(self, index: np.ndarray) -> torch.Tensor:
        rows = self.rows[index]
        order = np.argsort(rows, kind="stable")  # read the file forwards, then put rows back in place
        values = np.empty((len(rows), *self.shape), np.float32)
        values[order] = self.convert(self.array[rows[order]], rows[order])
        return torch.from_numpy(values)

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        index = index.numpy()
        out = {self.modality: self.inputs(index)}
        if self.labels is not None:
            out["label"] = self.labels[index]
        out.update({k: torch.from_numpy(v[self.rows[index]]) for k, v in self.extras.items()})
        return out

    def origins(self, index: np.ndarray) -> list[str]:
        """Where the samples at positions `index` lie: their files, when the array is a stack
        of files that names them (`origin`), else their rows in the archive."""
        named = getattr(self.array, "origin", None)
        return named(self.rows[index]) if named else [f"row {r}" for r in self.rows[index].tolist()]

    def head(self, rows: int) -> ArrayRows:
        """The first `rows` samples, still on demand."""
        return self.take(np.arange(min(rows, len(self))))

    def take(self, rows: np.ndarray) -> ArrayRows:
        """The samples at positions `rows`, still on demand."""
        return replace(self, rows=self.rows[rows], labels=None if self.labels is None else self.labels[rows])

    def sample(self, rows: int) -> ArrayRows:
        """`rows` samples spread evenly over the split (archives are often sorted by class)."""
        if rows >= len(self):
            return self
        return self.take(np.linspace(0, len(self) - 1, rows).round().astype(np.int64))

    def decoded(self) -> ArrayDataset:
        """Every sample of the split converted, in memory."""
        inputs = torch.empty((len(self), *self.shape), dtype=torch.float32)
        step = max(1, CHUNK_MB * 2**20 // (4 * math.prod(self.shape)))
        for lo in range(0, len(self), step):
            inputs[lo : lo + step] = self.inputs(np.arange(lo, min(lo + step, len(self))))
        extras = {k: torch.from_numpy(np.ascontiguousarray(v[self.rows])) for k, v in self.extras.items()}
        return ArrayDataset(inputs, self.labels, self.modality, extras)
