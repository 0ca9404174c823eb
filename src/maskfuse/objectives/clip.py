"""CLIP's symmetric InfoNCE between two modalities, with a learned, clamped temperature."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import MultimodalConfig
from maskfuse.distributed import gather_flags, gather_rows
from maskfuse.errors import ConfigError
from maskfuse.objectives.crossmodal import LogitScale, cross_entropy_rows, example_modalities, joint_mean, normalise
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


def clip_pair(a: torch.Tensor, b: torch.Tensor, both: torch.Tensor, scale: torch.Tensor, gather: bool) -> torch.Tensor:
    """Symmetric InfoNCE of unit embeddings a, b [B, P] over the rows `both` [B] that hold
    the two modalities; negatives are the other such rows (of every rank)."""
    keys_a, offset = gather_rows(a, gather)
    keys_b, _ = gather_rows(b, gather)
    key_ok = gather_flags(both, gather)
    target = torch.arange(a.shape[0], device=a.device) + offset
    a_to_b = cross_entropy_rows(scale * a @ keys_b.T, target, key_ok)
    b_to_a = cross_entropy_rows(scale * b @ keys_a.T, target, key_ok)
    return joint_mean(0.5 * (a_to_b + b_to_a), both, gather)


@OBJECTIVES.register("clip")
class CLIPLoss(nn.Module):
    """Radford et al., "Learning Transferable Visual Models From Natural Language
    Supervision", ICML 2021: cross-entropy over cosine similarities times a learned
    inverse temperature (clamped at 100), averaged over both directions.

    Exactly two modalities; for more use all-pairs or symile.
    """

    section = "multimodal"  # its settings, and the config key that names it: multimodal.loss

    def __init__(self, temperature: float = 0.07, max_scale: float = 100.0, gather: bool = True) -> None:
        super().__init__()
        self.scale = LogitScale(temperature, max_scale)
        self.gather = gather

    @classmethod
    def from_config(cls, c: MultimodalConfig, gather: bool = True) -> CLIPLoss:
        return cls(c.temperature, c.max_logit_scale, gather)

    def forward(self, z: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> LossOutput:
        if len(z) != 2:
            raise ConfigError(f"the clip loss takes exactly 2 modalities, got {len(z)}; use all-pairs or symile")
        (na, a), (nb, b) = normalise(z).items()
        scale = self.scale()
        loss = clip_pair(a, b, present[na] & present[nb], scale, self.gather)
        return LossOutput(loss, {"clip": float(loss.detach()), "logit_scale": float(scale.detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z, present = example_modalities("ab")
        return (), (z, present), list(z.values())
