"""InfoNCE against a queue of past keys: MoCo's large negative set for small batches."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("queue-infonce")
class QueueInfoNCE(nn.Module):
    """He et al., "Momentum Contrast for Unsupervised Visual Representation Learning", 2020.

    Each query's positive is its key (the other view through the momentum encoder);
    its negatives are the K keys of earlier batches held in the queue. The keys are
    constants: gradients reach only the queries.

    Args:
        temperature: > 0.
    """

    def __init__(self, temperature: float = 0.2) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"contrastive.temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor) -> LossOutput:
        """q, k: [B, D] queries and keys; queue: [K, D] earlier keys (all L2-normalised here)."""
        q, k, queue = F.normalize(q, dim=1), F.normalize(k.detach(), dim=1), F.normalize(queue.detach(), dim=1)
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / self.temperature  # [B, 1+K]
        target = torch.zeros(len(q), dtype=torch.long, device=q.device)
        loss = F.cross_entropy(logits, target)
        with torch.no_grad():
            acc = (logits.argmax(1) == 0).float().mean()
        return LossOutput(loss, {"moco": float(loss.detach()), "pos_top1": float(acc)})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        q = torch.randn(8, 5, requires_grad=True)
        return (0.2,), (q, torch.randn(8, 5), torch.randn(32, 5)), [q]
