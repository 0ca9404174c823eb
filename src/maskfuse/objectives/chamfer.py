"""Chamfer distance between predicted and true point sets of masked tokens (Point-MAE)."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


def chamfer(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Symmetric squared Chamfer distance between sets: [M, K, 3] x [M, K', 3] -> [M]: the mean
    squared distance from each predicted point to its nearest true point, plus the same
    from each true point to its nearest prediction."""
    d = torch.cdist(pred, target).pow(2)  # [M, K, K']
    return d.min(dim=2).values.mean(1) + d.min(dim=1).values.mean(1)


@OBJECTIVES.register("chamfer")
class MaskedChamfer(nn.Module):
    """Mean Chamfer-L2 distance over masked, valid tokens, each token a small point set
    (a group's points relative to its centre, flattened): order inside a set is not
    predictable, so the loss must not depend on it.

    Pang et al., "Masked Autoencoders for Point Cloud Self-supervised Learning" (Point-MAE),
    ECCV 2022.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor | None = None
                ) -> LossOutput:  # fmt: skip
        """pred [B, N, K*3] and target [B, N, K'*3] point sets; mask, valid [B, N]."""
        counted = mask if valid is None else mask & valid
        if not bool(counted.any()):
            return LossOutput(pred.sum() * 0.0, {"chamfer": 0.0})
        loss = chamfer(pred[counted].unflatten(-1, (-1, 3)), target[counted].unflatten(-1, (-1, 3))).mean()
        return LossOutput(loss, {"chamfer": float(loss.detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        pred = torch.randn(4, 6, 5 * 3, requires_grad=True)
        return (), (pred, torch.randn(4, 6, 5 * 3), torch.arange(24).reshape(4, 6) % 2 == 0), [pred]
