"""Masked reconstruction: regress the targets of masked tokens only."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("reconstruction")
class MaskedReconstruction(nn.Module):
    """Mean per-token error over masked, valid tokens (MAE: MSE; SimMIM: L1; feature
    distillation: smooth L1 with beta 1).

    He et al., "Masked Autoencoders Are Scalable Vision Learners", 2022;
    Xie et al., "SimMIM: a Simple Framework for Masked Image Modeling", 2022.

    Args:
        loss: "mse", "l1" or "smooth-l1".
    """

    def __init__(self, loss: str = "mse") -> None:
        super().__init__()
        if loss not in ("mse", "l1", "smooth-l1"):
            raise ValueError(f"reconstruction.loss must be 'mse', 'l1' or 'smooth-l1', got {loss!r}")
        self.kind = loss

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        valid: torch.Tensor | None = None,
    ) -> LossOutput:
        """Loss over the masked tokens.

        Args:
            pred: Predicted targets, [B, N, P].
            target: True targets, [B, N, P].
            mask: True where a token was masked and counts, [B, N].
            valid: True for real tokens, [B, N]; padding never counts.
        """
        error = {"mse": nn.functional.mse_loss, "l1": nn.functional.l1_loss, "smooth-l1": nn.functional.smooth_l1_loss}
        per_token = error[self.kind](pred, target, reduction="none").mean(-1)  # [B, N]
        weight = mask if valid is None else mask & valid
        weight = weight.to(per_token.dtype)
        loss = (per_token * weight).sum() / weight.sum().clamp_min(1.0)
        return LossOutput(loss, {f"recon_{self.kind.replace('-', '_')}": float(loss.detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        pred = torch.randn(4, 6, 3, requires_grad=True)
        return (), (pred, torch.randn(4, 6, 3), torch.rand(4, 6) > 0.5), [pred]
