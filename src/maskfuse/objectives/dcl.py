"""Decoupled contrastive loss: InfoNCE without the positive in the denominator."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import ContrastiveConfig
from maskfuse.objectives.views import view_similarities
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("dcl")
class DecoupledContrastive(nn.Module):
    """Yeh et al., "Decoupled Contrastive Learning", ECCV 2022.

    loss(anchor) = -s_pos / t + log sum_{negatives} exp(s_neg / t), averaged over the
    anchor's positives. Removing the positive from the denominator removes the
    negative-positive coupling that makes InfoNCE need large batches.

    Args:
        temperature: > 0.
        gather: Take negatives from all ranks under torch.distributed.
    """

    section = "contrastive"  # its settings, and the config key that names it: contrastive.loss

    def __init__(self, temperature: float = 0.1, gather: bool = True) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"contrastive.temperature must be > 0, got {temperature}")
        self.temperature, self.gather = temperature, gather

    @classmethod
    def from_config(cls, c: ContrastiveConfig, dim: int) -> DecoupledContrastive:
        return cls(c.temperature, c.gather)

    def forward(self, *views: torch.Tensor) -> LossOutput:
        vs = view_similarities(views, self.gather)
        logits = vs.sims / self.temperature
        negatives = logits.masked_fill(~vs.negative, float("-inf")).logsumexp(dim=1)  # [VB]
        positives = logits.masked_fill(~vs.positive, 0).sum(1) / vs.positive.sum(1)
        loss = (negatives - positives).mean()
        return LossOutput(loss, {"dcl": float(loss.detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z1, z2 = torch.randn(8, 5, requires_grad=True), torch.randn(8, 5, requires_grad=True)
        return (0.2,), (z1, z2), [z1, z2]
