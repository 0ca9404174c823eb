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
import torch.nn.functional as F
from torch import nn

from maskfuse.distributed import summed_over_ranks


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


def joint_mean(per_anchor: torch.Tensor, anchors: torch.Tensor, gather: bool) -> torch.Tensor:
    """Sum of per-anchor losses over `anchors` [B] divided by the mean anchor count per
    rank: DDP's gradient average then equals the mean over the joint batch."""
    count, world = summed_over_ranks(anchors.sum().float(), gather)
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


def example_modalities(names: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Embeddings [8, 5] per modality (requiring gradients) and presence flags in which row 0
    lacks the second modality and row 1 the third: the cross-modal objectives' contract case."""
    z = {m: torch.randn(8, 5, requires_grad=True) for m in names}
    present = {m: torch.ones(8, dtype=torch.bool) for m in names}
    for row, m in enumerate(names[1:]):
        present[m][row] = False
    return z, present
