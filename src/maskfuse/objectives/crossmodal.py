"""What every cross-modal contrastive objective shares: a learned, clamped logit scale,
presence-aware gathering across ranks, and a mean that equals the joint-batch mean.

Conventions: embeddings are [B, P] per modality with rows aligned across modalities;
`present` [B] says which rows hold that modality. Local rows are anchors; keys come
from every rank (with gradients). Absent keys are masked out of every softmax, absent
anchors contribute nothing, and the loss is normalised by the global anchor count, so
DDP's average over ranks equals the loss of one process on the joint batch.
"""

from __future__ import annotations

import math
from itertools import combinations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from maskfuse.objectives.views import gather_with_grad


class LogitScale(nn.Module):
    """CLIP's learnable inverse temperature, stored as a log and clamped at `max_scale`."""

    def __init__(self, temperature: float = 0.07, max_scale: float = 100.0) -> None:
        super().__init__()
        if not temperature > 0 or not max_scale > 1:
            raise ValueError(f"temperature must be > 0 and max scale > 1, got {temperature}, {max_scale}")
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))
        self.max_log = math.log(max_scale)

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(max=self.max_log).exp()


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather_rows(x: torch.Tensor, gather: bool) -> tuple[torch.Tensor, int]:
    """All ranks' rows with gradients (when `gather` and running distributed), and the
    offset of this rank's rows in the result."""
    if not (gather and distributed()):
        return x, 0
    full, rank = gather_with_grad(x)
    return full, rank * x.shape[0]


def gather_ragged(x: torch.Tensor) -> torch.Tensor:
    """Every rank's rows of x [n_r, D], where ranks hold different counts, with gradients."""
    if not distributed():
        return x
    sizes = [torch.zeros(1, dtype=torch.long, device=x.device) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([x.shape[0]], device=x.device))
    most = int(max(sizes))
    full, _ = gather_with_grad(F.pad(x, (0, 0, 0, most - x.shape[0])))
    keep = torch.cat([torch.arange(most, device=x.device) < s for s in sizes])
    return full[keep]


def gather_flags(flags: torch.Tensor, gather: bool) -> torch.Tensor:
    """All ranks' boolean flags [B] -> [W*B] (no gradients needed)."""
    if not (gather and distributed()):
        return flags
    parts = [torch.empty_like(flags) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, flags.contiguous())
    return torch.cat(parts)


def joint_mean(per_anchor: torch.Tensor, anchors: torch.Tensor, gather: bool) -> torch.Tensor:
    """Sum of per-anchor losses over `anchors` [B] divided by the mean anchor count per
    rank: DDP's gradient average then equals the mean over the joint batch."""
    count = anchors.sum().float()
    world = 1
    if gather and distributed():
        count = count.clone()
        dist.all_reduce(count)
        world = dist.get_world_size()
    total = per_anchor.masked_fill(~anchors, 0.0).sum()
    return total * world / count.clamp_min(1.0)


def cross_entropy_rows(logits: torch.Tensor, targets: torch.Tensor, key_ok: torch.Tensor) -> torch.Tensor:
    """-log softmax at `targets` for every row, absent keys excluded: [B]. A large finite
    negative (not -inf) keeps rows whose target is absent finite; callers drop them."""
    return F.cross_entropy(logits.masked_fill(~key_ok[None], -1e9), targets, reduction="none")


def sum_over_pairs(
    unit: dict[str, torch.Tensor], present: dict[str, torch.Tensor], pair_loss, name: str
) -> tuple[torch.Tensor, dict[str, float]]:
    """The sum of `pair_loss(a, b, both)` over every pair of modalities, each on the rows
    holding both, and each pair's value logged as "<name>_<a>_<b>"."""
    logs, loss = {}, torch.zeros((), device=next(iter(unit.values())).device)
    for a, b in combinations(unit, 2):
        term = pair_loss(unit[a], unit[b], present[a] & present[b])
        logs[f"{name}_{a}_{b}"] = float(term.detach())
        loss = loss + term
    return loss, logs


def normalise(z: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: F.normalize(v, dim=-1) for k, v in z.items()}
