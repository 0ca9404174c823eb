"""Swapped prediction of Sinkhorn-Knopp cluster assignments (SwAV; SIGMA on masked video)."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@torch.no_grad()
def sinkhorn(scores: torch.Tensor, eps: float, iters: int) -> torch.Tensor:
    """Balanced soft assignments [M, K] of M items to K prototypes from their scores [M, K]:
    exp(scores / eps) scaled in turn so every prototype takes an equal share of the items and
    every item's assignment sums to 1 (Cuturi 2013; SwAV's three rounds). Computed in float64
    with the largest score subtracted, so a small eps does not overflow."""
    q = torch.exp((scores.double() - scores.max()) / eps)  # [M, K]
    q /= q.sum()
    m, k = q.shape
    for _ in range(iters):
        q /= q.sum(0, keepdim=True) * k  # each prototype: 1 / K of the mass
        q /= q.sum(1, keepdim=True) * m  # each item: 1 / M of the mass
    return (q * m).to(scores.dtype)


@OBJECTIVES.register("swapped-assignment")
class SwappedAssignment(nn.Module):
    """Each of two views of the same items predicts the other's balanced cluster assignment.

    Caron et al., "Unsupervised Learning of Visual Features by Contrasting Cluster
    Assignments" (SwAV), 2020; Salehi et al., "SIGMA: Sinkhorn-Guided Masked Video
    Modeling", 2024, where the views are a masked tube's decoder output and its projected
    pixels. The assignments come from `sinkhorn` (no gradient); the predictions are the
    softmax of the scores at `temperature`. The equal-share constraint is what keeps the
    features from collapsing onto one prototype. Assignments are balanced over the items of
    this process's batch.

    Args:
        temperature: Softmax temperature of the predictions.
        eps: Entropy weight of the Sinkhorn assignment.
        iters: Sinkhorn normalisation rounds.
    """

    def __init__(self, temperature: float = 0.1, eps: float = 0.05, iters: int = 3) -> None:
        super().__init__()
        self.temperature, self.eps, self.iters = temperature, eps, iters

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> LossOutput:
        """Args: a, b: prototype scores [M, K] of the same M items seen two ways."""
        qa, qb = sinkhorn(a, self.eps, self.iters), sinkhorn(b, self.eps, self.iters)
        log_pa, log_pb = (torch.log_softmax(s / self.temperature, dim=-1) for s in (a, b))
        loss = -0.5 * ((qb * log_pa).sum(-1).mean() + (qa * log_pb).sum(-1).mean())
        with torch.no_grad():  # how many prototypes the predictions pick (perplexity of their argmax):
            # 1 when everything falls into one cluster, K when all are used alike; the balanced q always
            # uses all K, so only the predictions can show a collapse
            picks = torch.bincount(a.argmax(-1), minlength=a.shape[-1]).double() / len(a)
            spread = torch.exp(-(picks * picks.clamp_min(1e-12).log()).sum())
            confidence = log_pa.exp().amax(-1).mean()  # 1 / K when the predictions are uniform
        logs = {"swapped_ce": float(loss.detach()), "prototypes_used": float(spread), "confidence": float(confidence)}
        return LossOutput(loss, logs)

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        a, b = torch.randn(12, 5, requires_grad=True), torch.randn(12, 5, requires_grad=True)
        return (), (a, b), [a, b]
