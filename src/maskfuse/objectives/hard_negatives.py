"""InfoNCE with hard negatives up-weighted by a concentration parameter beta."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import ContrastiveConfig
from maskfuse.objectives.views import view_similarities
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("hard-negatives")
class HardNegativeInfoNCE(nn.Module):
    """Robinson et al., "Contrastive Learning with Hard Negative Samples" (HCL), ICLR 2021;
    as used across modalities by the hard-negative multimodal HAR paper (LITERATURE.md).

    Negatives are importance-weighted by w_j = M * softmax_j(beta * s_j) over the M
    negatives of an anchor, so more similar (harder) negatives count more:
    loss = -log( e^{s+/t} / (e^{s+/t} + sum_j w_j e^{s_j/t}) ). beta = 0 gives InfoNCE.
    The weights are treated as constants (no gradient), as in HCL's reference code.

    Args:
        temperature: > 0.
        beta: Concentration, >= 0.
        gather: Take negatives from all ranks under torch.distributed.
    """

    section = "contrastive"  # its settings, and the config key that names it: contrastive.loss

    def __init__(self, temperature: float = 0.1, beta: float = 1.0, gather: bool = True) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"contrastive.temperature must be > 0, got {temperature}")
        if beta < 0:
            raise ValueError(f"contrastive.hard_beta must be >= 0, got {beta}")
        self.temperature, self.beta, self.gather = temperature, beta, gather

    @classmethod
    def from_config(cls, c: ContrastiveConfig, dim: int) -> HardNegativeInfoNCE:
        return cls(c.temperature, c.hard_beta, c.gather)

    def forward(self, *views: torch.Tensor) -> LossOutput:
        vs = view_similarities(views, self.gather)
        logits = vs.sims / self.temperature
        neg = vs.negative
        with torch.no_grad():
            count = neg.sum(1, keepdim=True)  # M per anchor
            weights = count * (self.beta * vs.sims).masked_fill(~neg, float("-inf")).softmax(dim=1)
        neg_term = (weights * logits.exp()).masked_fill(~neg, 0).sum(1, keepdim=True)  # [VB, 1]
        pos_logits = logits.masked_fill(~vs.positive, float("-inf"))
        # each positive p: -log(e^p / (e^p + neg_term)), averaged over the anchor's positives
        per_pos = torch.logaddexp(pos_logits, neg_term.log()) - pos_logits
        loss = (per_pos.masked_fill(~vs.positive, 0).sum(1) / vs.positive.sum(1)).mean()
        return LossOutput(loss, {"hard_infonce": float(loss.detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z1, z2 = torch.randn(8, 5, requires_grad=True), torch.randn(8, 5, requires_grad=True)
        return (0.2, 1.0), (z1, z2), [z1, z2]
