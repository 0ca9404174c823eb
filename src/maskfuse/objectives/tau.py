"""Contrastive loss with a learned temperature for every sample."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import ContrastiveConfig
from maskfuse.objectives.views import view_similarities
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("tau")
class IndividualTemperature(nn.Module):
    """Per-sample temperatures, after TaU / iSogCLR (Qiu et al., "Not All Semantics are
    Created Equal: Contrastive Self-supervised Learning with Automatic Temperature
    Individualization", ICML 2023).

    Each anchor i gets t_i from a small head on its embedding, bounded to
    [t_min, t_max]. The loss is the distributionally robust form that makes t_i a
    meaningful choice rather than something to inflate:
        L_i = t_i * log mean_{j != i} exp((s_ij - s_i+) / t_i) + rho * t_i
    (averaged over positives), minimised jointly over the encoder and t_i. Samples with
    many near-duplicates (frequent semantics) settle at larger temperatures.

    Args:
        dim: Width of the embeddings (the temperature head's input).
        rho: The robustness radius rho, > 0.
        t_min, t_max: Bounds of the temperatures.
        gather: Take negatives from all ranks under torch.distributed.
    """

    section = "contrastive"  # its settings, and the config key that names it: contrastive.loss

    def __init__(self, dim: int, rho: float = 0.1, t_min: float = 0.05, t_max: float = 1.0, gather: bool = True):
        super().__init__()
        if not 0 < t_min < t_max:
            raise ValueError(f"need 0 < t_min < t_max, got {t_min}, {t_max}")
        if rho <= 0:
            raise ValueError(f"contrastive.tau_rho must be > 0, got {rho}")
        self.rho, self.t_min, self.t_max, self.gather = rho, t_min, t_max, gather
        self.head = nn.Linear(dim, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @classmethod
    def from_config(cls, c: ContrastiveConfig, dim: int) -> IndividualTemperature:
        return cls(dim, c.tau_rho, gather=c.gather)

    def temperatures(self, z: torch.Tensor) -> torch.Tensor:
        """t_i in [t_min, t_max] for embeddings z [N, D]; the midpoint at initialisation."""
        return self.t_min + (self.t_max - self.t_min) * torch.sigmoid(self.head(F.normalize(z, dim=-1))).squeeze(-1)

    def forward(self, *views: torch.Tensor) -> LossOutput:
        vs = view_similarities(views, self.gather)
        t = self.temperatures(torch.cat(views))[:, None]  # [VB, 1]
        per_pos = _per_positive(vs.sims, vs.positive, ~vs.self_mask, t)  # [VB, V*W*B]
        loss = (per_pos.sum(1) / vs.positive.sum(1) + self.rho * t.squeeze(1)).mean()
        return LossOutput(loss, {"tau_loss": float(loss.detach()), "tau_mean": float(t.detach().mean())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z1, z2 = torch.randn(8, 5, requires_grad=True), torch.randn(8, 5, requires_grad=True)
        return (5,), (z1, z2), [z1, z2]


def _per_positive(sims: torch.Tensor, positive: torch.Tensor, others: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """t * log mean_{j != i} exp((s_ij - s_ip) / t) for every anchor i and key p, kept
    where p is a positive and zero elsewhere: [VB, V*W*B]."""
    count = others.sum(1, keepdim=True)
    log_mean = (sims / t).masked_fill(~others, float("-inf")).logsumexp(dim=1, keepdim=True) - count.log()
    return (t * (log_mean - sims / t)).masked_fill(~positive, 0)
