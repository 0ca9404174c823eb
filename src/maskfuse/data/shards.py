"""WebDataset tar shards: any source's splits written as shards, and streamed back.

`write_shards` turns loaded splits (any modality, paired data included) into
`train-000000.tar, ...` and `test-000000.tar, ...` plus `spec.json`, written last, which
holds the data spec and row counts, so a folder without it is an unfinished write.
Each sample stores the arrays a batch of that source carries (the modality tensor,
`label`, `present` for paired data, extras) as `.npy` entries, read back with
`allow_pickle=False`.

Reading (the `webdataset` source) never loads the training split: `ShardStream.stream`
streams it (through `train.batches.batch_loader`). Every epoch the shard list is
permuted by (seed, epoch); rank r takes every world-th shard of that order and
DataLoader worker w every workers-th of those; samples pass a seeded shuffle buffer,
and batches are cut from the endless chain of epochs, so a resumed run sees the same
batches again (it reads and drops the steps already done).
Tar reading and the shuffle buffer come from the `webdataset` library.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import webdataset as wds
from torch.utils.data import IterableDataset, get_worker_info

from maskfuse.checkpoint import write_text_atomic
from maskfuse.config import DataConfig
from maskfuse.data.base import ArrayDataset, Splits, source_path
from maskfuse.data.paired import PairedDataset
from maskfuse.errors import ConfigError, DataError, Failed, MaskfuseError
from maskfuse.progress import progress
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec

SPEC_FILE = "spec.json"
FORMAT = 1


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def shard_order(rows: int, seed: int) -> np.ndarray:
    """The order a split's rows are written in: a seeded permutation, so the first rows of
    the shards (what evaluation and monitors read of a stream) are a fair sample even when
    the source is sorted by class."""
    return np.random.default_rng(seed).permutation(rows)


def _rows(ds: ArrayDataset | PairedDataset, order: np.ndarray, chunk: int = 256) -> Iterator[dict[str, np.ndarray]]:
    """The rows of a dataset in `order`, as the arrays its batches carry."""
    for lo in range(0, len(ds), chunk):
        batch = ds.batch(torch.as_tensor(order[lo : lo + chunk]))
        arrays = {k: v.numpy() for k, v in batch.items()}
        for i in range(len(next(iter(arrays.values())))):
            yield {k: v[i] for k, v in arrays.items()}


def _layout(ds: ArrayDataset | PairedDataset) -> dict:
    if isinstance(ds, PairedDataset):
        return {"kind": "paired", "names": ds.names}
    return {"kind": "array", "modality": ds.modality}


def write_shards(splits: Splits, out: Path, shard_size: int, seed: int = 0) -> dict:
    """Write both splits under `out` as tar shards of `shard_size` samples, each split in
    the order `shard_order(rows, seed)`; returns the index written to spec.json."""
    if shard_size < 1:
        raise ConfigError(f"--shard-size must be at least 1, got {shard_size}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DataError(f"{out}: folder is not empty; shards go into a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    index = {"format": FORMAT, "source": splits.source, "spec": splits.spec.to_dict(), "layout": _layout(splits.train)}
    index["rows"], index["shards"] = {}, {}
    stamp = int(time.time())
    for name in ("train", "test"):
        ds = getattr(splits, name)
        # an integer mtime keeps every header plain ustar; webdataset's float time.time() made
        # tarfile add a pax header per entry, which doubled the reading cost
        with (
            wds.ShardWriter(str(out / f"{name}-%06d.tar"), maxcount=shard_size, verbose=0, encoder=False,
                            mtime=stamp) as sink,
            progress(f"writing {len(ds)} {name} rows", len(ds)) as advance,
        ):  # fmt: skip
            for i, row in enumerate(_rows(ds, shard_order(len(ds), seed))):
                sink.write({"__key__": f"{name}{i:09d}", **{f"{k}.npy": _npy(v) for k, v in row.items()}})
                advance()
        index["rows"][name] = len(ds)
        index["shards"][name] = sorted(p.name for p in out.glob(f"{name}-*.tar"))
    write_text_atomic(out / SPEC_FILE, json.dumps(index, indent=1))  # last: marks the set complete
    return index


@functools.lru_cache(maxsize=256)
def _npy_header(header: bytes) -> tuple[np.dtype, tuple[int, ...], bool]:
    """(dtype, shape, fortran order) of a .npy header; every sample of a key shares one,
    so it is parsed once (parsing dominated reading before)."""
    buf = io.BytesIO(header)
    major, _ = np.lib.format.read_magic(buf)
    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(buf)
    if dtype.hasobject:
        raise ValueError("object arrays would need unpickling, which is refused")
    return dtype, shape, fortran


def read_npy(data: bytes) -> np.ndarray:
    """A .npy payload as an array, without pickle (object dtypes are refused)."""
    if data[:6] != b"\x93NUMPY" or len(data) < 10:
        raise ValueError("no .npy magic")
    size = int.from_bytes(data[8:10], "little") if data[6] == 1 else int.from_bytes(data[8:12], "little")
    start = (10 if data[6] == 1 else 12) + size
    dtype, shape, fortran = _npy_header(bytes(data[:start]))
    count = int(np.prod(shape))
    if len(data) - start != count * dtype.itemsize:
        raise ValueError(f"{len(data) - start} data bytes, expected {count * dtype.itemsize}")
    flat = np.frombuffer(data, dtype, count, offset=start)
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def decode(sample: dict, where: str) -> dict[str, np.ndarray]:
    """One tar sample's `.npy` entries as arrays (never unpickled)."""
    out = {}
    for entry, data in sample.items():
        if entry.startswith("__"):
            continue
        key, _, ext = entry.rpartition(".")
        if ext != "npy":
            raise DataError(f"{where}: entry '{entry}' is not .npy; write shards with `maskfuse data shard`")
        try:
            out[key] = read_npy(data)
        except ValueError as err:
            raise DataError(f"{where}: entry '{entry}' is not a readable .npy array ({err})") from err
    return out


def collate(rows: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.stack([r[k] for r in rows])) for k in rows[0]}


@dataclass
class ShardStream:
    """One split stored as tar shards: its length is known, its rows are read on demand."""

    urls: list[str]
    rows: int
    layout: dict
    in_memory: ClassVar[bool] = False

    def __len__(self) -> int:
        return self.rows

    def samples(self, urls: list[str]) -> Iterator[dict[str, np.ndarray]]:
        """The samples of the shard files `urls`, in order. The files are opened here, as
        plain files: webdataset's own opener would run a name starting with "pipe:"
        through a shell and fetch one starting with "http:"."""
        files = wds.tariterators.tar_file_expander(_opened(urls), handler=_raise_with_url)
        for sample in wds.tariterators.group_by_keys(files, handler=_raise_with_url):
            yield decode(sample, f"{sample.get('__url__')}: sample {sample.get('__key__')}")

    def head(self, rows: int) -> ArrayDataset | PairedDataset:
        """The first `rows` samples in shard order, in memory (evaluation, monitors, caps)."""
        taken = list(itertools.islice(self.samples(self.urls), rows))
        if not taken:
            raise DataError(f"{self.urls[0] if self.urls else 'shards'}: no samples")
        return self.held(taken)

    def chunks(self, size: int) -> Iterator[ArrayDataset | PairedDataset]:
        """Every sample in shard order, `size` at a time, each chunk in memory."""
        samples = self.samples(self.urls)
        while taken := list(itertools.islice(samples, size)):
            yield self.held(taken)

    def held(self, taken: list[dict[str, np.ndarray]]) -> ArrayDataset | PairedDataset:
        """Decoded samples as an in-memory dataset of this layout."""
        cols = collate(taken)
        labels = cols.pop("label", None)
        if self.layout["kind"] == "paired":
            present = cols.pop("present")
            return PairedDataset({n: cols[n] for n in self.layout["names"]}, present, labels)
        inputs = cols.pop(self.layout["modality"])
        return ArrayDataset(inputs, labels, self.layout["modality"], cols)

    def stream(self, seed: int, rank: int, world: int, batch: int, workers: int, buffer: int) -> IterableDataset:
        """This rank's endless stream of batches of `batch` rows, for a DataLoader with
        `workers` workers."""
        readers = world * max(workers, 1)
        if len(self.urls) < readers:
            raise ConfigError(
                f"{len(self.urls)} training shards cannot feed {world} rank(s) x {max(workers, 1)} worker(s); "
                f"write at least {readers} shards (a smaller --shard-size) or lower data.workers"
            )
        return _RankStream(self, seed, rank, world, batch, buffer)


def _opened(paths: list[str]) -> Iterator[dict]:
    """Each shard file opened for reading, as webdataset's tar expander takes it."""
    for path in paths:
        try:
            stream = open(path, "rb")  # noqa: SIM115  (closed below, once the expander has read it)
        except OSError as err:
            raise DataError(f"{path}: cannot open shard ({err.strerror})") from err
        with stream:
            yield {"url": path, "stream": stream}


class _ShardFault(DataError):
    """A shard read failing inside webdataset's tar reader, before it knows the shard."""


def _raise_with_url(err: Exception) -> bool:
    """webdataset's error handler: its tar reader calls it with the reason (with " @ <the
    file object>" appended), then its expander with (reason, stream, path) appended; the
    error the user sees is "PATH: cannot read shard (reason)"."""
    path = err.args[-1] if len(err.args) >= 3 and isinstance(err.args[-1], str) else None
    reason = str(err.args[0]) if err.args else str(err)
    reason = reason.partition(" @ <")[0]
    if path is None:
        raise _ShardFault(reason) from err
    raise DataError(f"{path}: cannot read shard ({reason})") from err


class _RankStream(IterableDataset):
    """Batches of one rank (and one DataLoader worker) from an endless chain of epochs."""

    def __init__(self, shards: ShardStream, seed: int, rank: int, world: int, batch: int, buffer: int) -> None:
        self.shards, self.seed, self.rank, self.world = shards, seed, rank, world
        self.batch, self.buffer = batch, buffer

    def _samples(self) -> Iterator[dict[str, np.ndarray]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        urls = self.shards.urls
        for epoch in itertools.count():
            order = torch.randperm(len(urls), generator=torch.Generator().manual_seed(self.seed * 7919 + epoch))
            mine = [urls[i] for i in order.tolist()][self.rank :: self.world][worker::workers]
            rng = random.Random(((self.seed * 1009 + epoch) * 1013 + self.rank) * 1019 + worker)
            yield from wds.filters._shuffle(self.shards.samples(mine), self.buffer, min(self.buffer, 100), rng)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor] | Failed]:
        samples = self._samples()
        try:
            while True:
                yield collate(list(itertools.islice(samples, self.batch)))
        except MaskfuseError as err:  # a bad shard: the error goes back whole, as a batch
            yield Failed(err)


def read_index(folder: Path) -> dict:
    path = folder / SPEC_FILE
    if not path.is_file():
        raise DataError(f"{folder}: no {SPEC_FILE}; write shards with `maskfuse data shard` (or the write was cut off)")
    try:
        index = json.loads(path.read_text())
        if index.get("format") != FORMAT:
            raise DataError(f"{path}: shard format {index.get('format')}, this maskfuse reads format {FORMAT}")
        for name in ("train", "test"):
            for shard in index["shards"][name]:
                if not isinstance(shard, str) or not re.fullmatch(rf"{name}-\d{{6}}\.tar", shard):
                    raise DataError(
                        f"{path}: {name} shard {shard!r} is not a name maskfuse writes ({name}-000000.tar, ...); "
                        "refused, since only the shard files beside spec.json are read"
                    )
                if not (folder / shard).is_file():
                    raise DataError(f"{folder / shard}: shard listed in {SPEC_FILE} is missing")
        return index
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        raise DataError(f"{path}: not a maskfuse shard index ({err})") from err


@DATASETS.register("webdataset")
def load(cfg: DataConfig) -> Splits:
    """Shards written by `maskfuse data shard`: both splits stream from disk."""
    folder = source_path(cfg.path, "shard folder", "webdataset", folder=True)
    index = read_index(folder)

    def split(name: str) -> ShardStream:  # checked names, resolved inside the folder
        paths = [str(folder.resolve() / s) for s in index["shards"][name]]
        return ShardStream(paths, index["rows"][name], index["layout"])

    spec = DataSpec.from_dict(index["spec"])
    return Splits(split("train"), split("test"), spec, f"webdataset ({folder}; from {index['source']})")
