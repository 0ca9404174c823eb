"""torchrun / torch.distributed: one process per device, each on its shard of every batch,
and every exchange between ranks (gathering rows with gradients, counts, flags, text).

`torchrun --nproc-per-node N -m maskfuse pretrain ...` sets RANK, WORLD_SIZE and
LOCAL_RANK; `init_world` then joins the process group (NCCL on CUDA, gloo on CPU) and
every rank takes its contiguous slice of each step's global batch. The global batch
order is a function of (seed, step) alone, so a run resumes under any world size with
the same data. DDP averages gradients; contrastive losses gather embeddings across ranks
with correct gradients, so N ranks equal one process on the joint batch (tested).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from maskfuse.errors import ConfigError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Only the main rank writes checkpoints, logs and progress."""
        return self.rank == 0


def init_world(device: torch.device) -> World:
    """Join the process group torchrun describes (env vars), or run alone."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def local_device(device: torch.device, world: World) -> torch.device:
    """Each rank's own GPU (LOCAL_RANK) when training on CUDA."""
    if device.type == "cuda" and world.size > 1:
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return device


def rows_per_rank(batch_size: int, world: World) -> int:
    """Each rank's share of a global batch (sizes must divide evenly)."""
    if batch_size % world.size:
        raise ConfigError(f"train.batch_size={batch_size} does not divide over {world.size} ranks")
    return batch_size // world.size


def shard(indices: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's contiguous slice of a global batch."""
    per = rows_per_rank(len(indices), world)
    return indices[world.rank * per : (world.rank + 1) * per]


def wrap(model: nn.Module, world: World) -> nn.Module:
    """DDP around the method when distributed. Unused parameters are allowed: a
    multimodal batch may lack a modality, and some methods switch terms off."""
    if world.size == 1:
        return model
    return DistributedDataParallel(model, find_unused_parameters=True)


def mean_over_ranks(value: torch.Tensor, world: World) -> torch.Tensor:
    """The mean of a scalar over ranks (what the joint batch's loss would be), for logs."""
    if world.size == 1:
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / world.size


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()


def text_from_main(text: str, world: World, device: torch.device) -> str:
    """The main rank's `text` on every rank (what the others pass is ignored), sent as UTF-8
    bytes in a tensor: nothing is pickled."""
    if world.size == 1:
        return text
    data = torch.frombuffer(bytearray(text.encode("utf-8")), dtype=torch.uint8) if world.main else None
    size = torch.tensor([0 if data is None else len(data)], dtype=torch.int64, device=device)
    dist.broadcast(size, src=0)
    buffer = data.to(device) if data is not None else torch.empty(int(size), dtype=torch.uint8, device=device)
    dist.broadcast(buffer, src=0)
    return buffer.cpu().numpy().tobytes().decode("utf-8")


def several_ranks() -> bool:
    """Whether this process is one of several in an initialised process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _GatherRows(torch.autograd.Function):
    """all_gather whose backward hands each rank the summed gradient of its own rows.

    Every rank's loss depends on every rank's rows, so the gradient of a local row is
    the sum over ranks of what each loss sends it: an all_reduce, then this rank's slice.
    (torch.distributed.nn.functional.all_gather does this too, but is deprecated.)
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.rows = x.shape[0]
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        start = dist.get_rank() * ctx.rows
        return grad[start : start + ctx.rows]


def gather_with_grad(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """All ranks' rows of x [B, D] -> [W*B, D] in rank order, with gradients; and this rank."""
    if not several_ranks():
        return x, 0
    return _GatherRows.apply(x), dist.get_rank()


def gather_rows(x: torch.Tensor, gather: bool) -> tuple[torch.Tensor, int]:
    """All ranks' rows with gradients (when `gather` and running distributed), and the
    offset of this rank's rows in the result."""
    if not (gather and several_ranks()):
        return x, 0
    full, rank = gather_with_grad(x)
    return full, rank * x.shape[0]


def gather_ragged(x: torch.Tensor) -> torch.Tensor:
    """Every rank's rows of x [n_r, D], where ranks hold different counts, with gradients."""
    if not several_ranks():
        return x
    sizes = [torch.zeros(1, dtype=torch.long, device=x.device) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([x.shape[0]], device=x.device))
    most = int(max(sizes))
    full, _ = gather_with_grad(F.pad(x, (0, 0, 0, most - x.shape[0])))
    keep = torch.cat([torch.arange(most, device=x.device) < s for s in sizes])
    return full[keep]


def gather_flags(flags: torch.Tensor, gather: bool) -> torch.Tensor:
    """All ranks' boolean flags [B] -> [W*B] (no gradients needed)."""
    if not (gather and several_ranks()):
        return flags
    parts = [torch.empty_like(flags) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, flags.contiguous())
    return torch.cat(parts)


def summed_over_ranks(value: torch.Tensor, gather: bool) -> tuple[torch.Tensor, int]:
    """(the sum of `value` over ranks, the number of ranks); (value, 1) when not gathering."""
    if not (gather and several_ranks()):
        return value, 1
    value = value.clone()
    dist.all_reduce(value)
    return value, dist.get_world_size()
