"""BYOL's regression of a target projection: no negatives, 2 - 2 cos per row."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("bootstrap")
class BootstrapCosine(nn.Module):
    """Grill et al. 2020: the online prediction p of one view regresses the target
    projection z of the other view, both L2-normalised: mean over rows of
    ||p/|p| - z/|z|||^2 = 2 - 2 cos(p, z). The target takes no gradient (it comes from an
    EMA copy), so the loss has no negatives and no partner across ranks."""

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> LossOutput:
        """prediction, target: [B, P]; row i of each is sample i."""
        cos = (F.normalize(prediction, dim=1) * F.normalize(target.detach(), dim=1)).sum(1)
        loss = (2 - 2 * cos).mean()
        return LossOutput(loss, {"bootstrap": float(loss.detach()), "cos": float(cos.mean().detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        p = torch.randn(8, 5, requires_grad=True)
        return (), (p, torch.randn(8, 5)), [p]
