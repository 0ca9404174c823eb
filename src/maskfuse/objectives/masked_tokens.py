"""Masked token prediction: cross-entropy over the masked positions only (BERT's MLM)."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("masked-tokens")
class MaskedTokenPrediction(nn.Module):
    """Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers", NAACL 2019.

    Mean cross-entropy of the true class at masked positions; other positions never count.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> LossOutput:
        """Args: logits [B, N, K], target class ids [B, N], mask [B, N] (True = counts)."""
        if not bool(mask.any()):
            return LossOutput(logits.sum() * 0.0, {"mlm_ce": 0.0, "mlm_acc": 0.0})
        return self.of_chosen(logits[mask], target[mask])

    def of_chosen(self, chosen: torch.Tensor, truth: torch.Tensor) -> LossOutput:
        """The loss of the counted positions alone: logits [M, K], class ids [M]."""
        loss = nn.functional.cross_entropy(chosen.float(), truth)
        acc = (chosen.argmax(-1) == truth).float().mean()
        return LossOutput(loss, {"mlm_ce": float(loss.detach()), "mlm_acc": float(acc)})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        pred = torch.randn(4, 6, 3, requires_grad=True)
        return (), (pred, torch.randint(0, 3, (4, 6)), torch.arange(24).reshape(4, 6) % 2 == 0), [pred]
