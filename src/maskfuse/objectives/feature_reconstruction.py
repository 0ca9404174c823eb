"""Masked-feature reconstruction for tables: MSE on numeric cells, cross-entropy on categorical ones."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("feature-reconstruction")
class FeatureReconstruction(nn.Module):
    """Mean per-cell loss over masked, observed cells of a table.

    Numeric feature j: squared error of pred[..., j, 0] against the scaled value.
    Categorical feature j with K_j categories: cross-entropy of pred[..., j, :K_j]
    against the category id. Missing cells (NaN targets) never count. In the spirit of
    VIME (Yoon et al. 2020) and the masked-cell objectives of tabular transformers.

    Args:
        cardinality: [F] ints: 0 for a numeric feature, K_j for a categorical one.
    """

    def __init__(self, cardinality: list[int]) -> None:
        super().__init__()
        card = torch.as_tensor(cardinality, dtype=torch.long)
        self.register_buffer("categorical", card > 0, persistent=False)
        width = max(1, int(card.max()) if len(card) else 1)
        allowed = torch.arange(width)[None] < card.clamp_min(1)[:, None]  # [F, P]
        self.register_buffer("allowed", allowed, persistent=False)

    def per_cell(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of every cell [B, F] (0 where the target is missing)."""
        observed = ~torch.isnan(target)
        value = target.nan_to_num(0.0)
        squared = (pred[..., 0] - value) ** 2
        logits = pred.float().masked_fill(~self.allowed, float("-inf"))
        ids = value.long().clamp_min(0).clamp(max=pred.shape[-1] - 1)
        ce = -logits.log_softmax(-1).gather(-1, ids[..., None]).squeeze(-1)
        return torch.where(self.categorical, ce, squared).masked_fill(~observed, 0.0)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> LossOutput:
        """Args: pred [B, F, P], target [B, F] (scaled values or category ids, NaN = missing),
        mask [B, F] (True = the cell was hidden and counts)."""
        counts = mask & ~torch.isnan(target)
        cells = self.per_cell(pred, target)
        loss = (cells * counts).sum() / counts.sum().clamp_min(1)
        num, cat = counts & ~self.categorical, counts & self.categorical
        logs = {"table_loss": float(loss.detach())}
        cells, pred = cells.detach(), pred.detach()
        if num.any():
            logs["table_mse"] = float((cells * num).sum() / num.sum())
        if cat.any():
            hit = pred.masked_fill(~self.allowed, float("-inf")).argmax(-1) == target.nan_to_num(-1).long()
            logs["table_acc"] = float((hit & cat).sum() / cat.sum())
        return LossOutput(loss, logs)

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        pred = torch.randn(4, 6, 3, requires_grad=True)
        target = torch.tensor([[0.5, 2, -1, 1, 0, 3]] * 4)
        return ([0, 3, 0, 2, 0, 0],), (pred, target, torch.ones(4, 6, dtype=torch.bool)), [pred]
