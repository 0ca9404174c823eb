"""The training batches of one rank, read through a `torch.utils.data.DataLoader`.

In-memory and on-demand datasets (anything with `batch(index)`) are read by step: the
step's global rows come from `BatchOrder`, this rank takes its slice, and a worker
calls `batch` on it, so `data.workers` moves reading and decoding off the training
process without changing which rows a step sees. Shards come as this rank's stream of
batches (`ShardStream.stream`); both go through one `batch_loader`. Pinned memory is
used when training on CUDA.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from maskfuse.config import Config
from maskfuse.data.shards import ShardStream
from maskfuse.distributed import World, rows_per_rank, shard
from maskfuse.errors import ConfigError, Failed, MaskfuseError


@dataclass
class BatchOrder:
    """Which rows make up the batch of each step: a fresh permutation per epoch, seeded
    by (seed, epoch), so any step's batch is known without replaying earlier ones."""

    rows: int
    batch_size: int
    seed: int

    def __post_init__(self) -> None:
        if self.batch_size > self.rows:
            raise ConfigError(f"train.batch_size={self.batch_size} exceeds the {self.rows} training rows")
        self.per_epoch = self.rows // self.batch_size
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 7919 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.rows, generator=g)
        return self._perm[i * self.batch_size : (i + 1) * self.batch_size]


class StepRows(Sampler):
    """This rank's row indices for each step in [start, stop)."""

    def __init__(self, order: BatchOrder, world: World, start: int, stop: int) -> None:
        self.order, self.world, self.start, self.stop = order, world, start, stop

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def __iter__(self) -> Iterator[torch.Tensor]:
        for step in range(self.start, self.stop):
            yield shard(self.order.indices(step), self.world)


class ByIndex(Dataset):
    """`dataset[rows]` is the batch of those rows (or the `Failed` reading of them)."""

    def __init__(self, data) -> None:
        self.data = data

    def __getitem__(self, rows: torch.Tensor) -> dict[str, torch.Tensor] | Failed:
        try:
            return self.data.batch(rows)
        except MaskfuseError as err:
            return Failed(err)


def batch_loader(dataset: Dataset, workers: int, pin: bool, sampler: Sampler | None = None) -> DataLoader:
    """A DataLoader of whole batches (the dataset or sampler makes them): `workers`
    persistent worker processes, each 4 batches ahead, and pinned memory when `pin`."""
    extra = {"persistent_workers": True, "prefetch_factor": 4} if workers else {}
    return DataLoader(dataset, batch_size=None, sampler=sampler, num_workers=workers, pin_memory=pin, **extra)


def train_batches(data, cfg: Config, world: World, start: int, stop: int, device: torch.device) -> Iterator[dict]:
    """The batches of steps start..stop-1 for this rank, on `device`."""
    workers = cfg.data.workers
    if workers < 0:
        raise ConfigError(f"data.workers must be 0 or more, got {workers}")
    pin = device.type == "cuda"
    if isinstance(data, ShardStream):
        per_rank = rows_per_rank(cfg.train.batch_size, world)
        stream = data.stream(cfg.train.seed, world.rank, world.size, per_rank, workers, cfg.data.shuffle_buffer)
        # a resumed run reads and drops the steps already done
        batches = itertools.islice(batch_loader(stream, workers, pin), start, stop)
    else:
        order = BatchOrder(len(data), cfg.train.batch_size, cfg.train.seed)
        batches = batch_loader(ByIndex(data), workers, pin, StepRows(order, world, start, stop))
    for batch in batches:
        if isinstance(batch, Failed):
            raise batch.error
        yield {k: v.to(device, non_blocking=True) for k, v in batch.items()}
