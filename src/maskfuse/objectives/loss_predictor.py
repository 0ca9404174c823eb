"""Relative (ranking) loss for a head that predicts per-token reconstruction difficulty."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("loss-predictor")
class RelativeLossPrediction(nn.Module):
    """HPM's relative objective (Wang et al., CVPR 2023): learn which of two masked tokens
    is harder, not the exact loss values, which drift as the reconstruction improves.

    For every ordered pair (i, j) of predicted tokens of a sample with different true
    losses: binary cross-entropy of sigmoid(s_i - s_j) against 1[l_i > l_j]. The true
    losses are constants (detached).
    """

    def forward(self, scores: torch.Tensor, losses: torch.Tensor) -> LossOutput:
        """scores, losses: [B, M] predicted and true per-token losses of the masked tokens."""
        diff = scores.unsqueeze(2) - scores.unsqueeze(1)  # [B, M, M]: s_i - s_j
        truth = losses.detach().unsqueeze(2) - losses.detach().unsqueeze(1)
        pairs = truth != 0
        bce = F.binary_cross_entropy_with_logits(diff, (truth > 0).to(diff.dtype), reduction="none")
        loss = (bce * pairs).sum() / pairs.sum().clamp_min(1)
        with torch.no_grad():
            agree = ((diff > 0) == (truth > 0)) & pairs
            acc = agree.sum() / pairs.sum().clamp_min(1)
        return LossOutput(loss, {"loss_pred": float(loss.detach()), "rank_acc": float(acc)})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        scores = torch.randn(4, 6, requires_grad=True)
        return (), (scores, torch.rand(4, 6)), [scores]
