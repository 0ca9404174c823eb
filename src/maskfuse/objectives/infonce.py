"""NT-Xent / InfoNCE between two views, optionally with negatives from every rank."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


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
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x, 0
    return _GatherRows.apply(x), dist.get_rank()


@OBJECTIVES.register("infonce")
class InfoNCE(nn.Module):
    """SimCLR's normalised-temperature cross-entropy over 2B views (Chen et al., 2020).

    Each view's positive is the other view of the same sample; its negatives are the
    other 2B - 2 views (2WB - 2 with W ranks when `gather` is on). The mean over the
    local views, averaged over ranks by DDP, equals the loss on the joint batch.

    Args:
        temperature: Softmax temperature, > 0.
        gather: Take negatives from all ranks under torch.distributed.
    """

    def __init__(self, temperature: float = 0.1, gather: bool = True) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"contrastive.temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.gather = gather

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> LossOutput:
        """Loss of two views' embeddings z1, z2 [B, D] (row i of each is sample i)."""
        if z1.shape != z2.shape:
            raise ValueError(f"views must have equal shapes, got {list(z1.shape)} and {list(z2.shape)}")
        b = z1.shape[0]
        z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
        if self.gather:
            k1, rank = gather_with_grad(z1)
            k2, _ = gather_with_grad(z2)
        else:
            k1, k2, rank = z1, z2, 0
        total = k1.shape[0]  # W * B
        queries = torch.cat([z1, z2])  # [2B, D]
        keys = torch.cat([k1, k2])  # [2WB, D]
        logits = queries @ keys.T / self.temperature  # [2B, 2WB]
        local = torch.arange(b, device=z1.device) + rank * b
        self_idx = torch.cat([local, local + total])
        pos_idx = torch.cat([local + total, local])
        is_self = F.one_hot(self_idx, keys.shape[0]).bool()  # [2B, 2WB]
        logits = logits.masked_fill(is_self, float("-inf"))
        loss = F.cross_entropy(logits, pos_idx)
        with torch.no_grad():
            acc = (logits.argmax(dim=1) == pos_idx).float().mean()
        return LossOutput(loss, {"infonce": float(loss.detach()), "pos_top1": float(acc)})
