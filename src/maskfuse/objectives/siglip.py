"""SigLIP's pairwise sigmoid loss, summed over every pair of modalities."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import MultimodalConfig
from maskfuse.distributed import gather_flags, gather_rows
from maskfuse.objectives.crossmodal import example_modalities, joint_mean, normalise, sum_over_pairs
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


def sigmoid_pair(
    a: torch.Tensor, b: torch.Tensor, both: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, gather: bool
) -> torch.Tensor:
    """-sum_j log sigmoid(z_ij (scale a_i.b_j + bias)) per anchor row i, z = +1 on the
    diagonal and -1 elsewhere; keys b_j from every rank, absent rows left out."""
    keys, offset = gather_rows(b, gather)
    key_ok = gather_flags(both, gather)
    logits = scale * a @ keys.T + bias  # [B, W*B]
    sign = -torch.ones_like(logits)
    rows = torch.arange(a.shape[0], device=a.device)
    sign[rows, rows + offset] = 1.0
    per_anchor = -(F.logsigmoid(sign * logits) * key_ok[None]).sum(1)
    return joint_mean(per_anchor, both, gather)


@OBJECTIVES.register("siglip")
class SigLIPLoss(nn.Module):
    """Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023: every
    (a_i, b_j) is an independent binary problem, positive only on the diagonal, with a
    learned scale (init 10) and bias (init -10). Averaged over anchors, summed over pairs.
    """

    section = "multimodal"  # its settings, and the config key that names it: multimodal.loss

    def __init__(self, scale: float = 10.0, bias: float = -10.0, gather: bool = True) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(scale)))
        self.bias = nn.Parameter(torch.tensor(float(bias)))
        self.gather = gather

    @classmethod
    def from_config(cls, c: MultimodalConfig, gather: bool = True) -> SigLIPLoss:
        return cls(gather=gather)

    def forward(self, z: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> LossOutput:
        scale = self.log_scale.exp()
        pair = lambda a, b, both: sigmoid_pair(a, b, both, scale, self.bias, self.gather)  # noqa: E731
        loss, logs = sum_over_pairs(normalise(z), present, pair, "siglip")
        return LossOutput(loss, {**logs, "logit_scale": float(scale.detach()), "bias": float(self.bias.detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z, present = example_modalities("abc")
        return (), (z, present), list(z.values())
