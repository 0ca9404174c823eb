"""NT-Xent / InfoNCE between two or more views, optionally with negatives from every rank."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import ContrastiveConfig
from maskfuse.objectives.views import view_similarities
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("infonce")
class InfoNCE(nn.Module):
    """SimCLR's normalised-temperature cross-entropy over 2B views (Chen et al., 2020).

    Each view's positive is the other view of the same sample; its negatives are the
    other 2B - 2 views (2WB - 2 with W ranks when `gather` is on). The mean over the
    local views, averaged over ranks by DDP, equals the loss on the joint batch. More
    than two views are accepted (multi-view InfoNCE).

    Args:
        temperature: Softmax temperature, > 0.
        gather: Take negatives from all ranks under torch.distributed.
    """

    section = "contrastive"  # its settings, and the config key that names it: contrastive.loss

    def __init__(self, temperature: float = 0.1, gather: bool = True) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"contrastive.temperature must be > 0, got {temperature}")
        self.temperature = temperature
        self.gather = gather

    @classmethod
    def from_config(cls, c: ContrastiveConfig, dim: int) -> InfoNCE:
        return cls(c.temperature, c.gather)

    def forward(self, *views: torch.Tensor) -> LossOutput:
        """Loss of V >= 2 views' embeddings, [B, D] each (row i of every view is sample i).

        With more than two views every other view of a sample is a positive, and each
        anchor's loss is the mean over its positives of -log softmax (multi-view InfoNCE;
        Tian et al. 2020, "Contrastive Multiview Coding"); with two it is NT-Xent.
        """
        vs = view_similarities(views, self.gather)
        logits = (vs.sims / self.temperature).masked_fill(vs.self_mask, float("-inf"))
        log_prob = logits.log_softmax(dim=1)
        per_anchor = -(log_prob.masked_fill(~vs.positive, 0).sum(1) / vs.positive.sum(1))
        loss = per_anchor.mean()
        with torch.no_grad():
            acc = vs.positive.gather(1, logits.argmax(dim=1, keepdim=True)).float().mean()
        return LossOutput(loss, {"infonce": float(loss.detach()), "pos_top1": float(acc)})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z1, z2 = torch.randn(8, 5, requires_grad=True), torch.randn(8, 5, requires_grad=True)
        return (0.2,), (z1, z2), [z1, z2]
