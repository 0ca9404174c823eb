"""InfoNCE summed over every pair of N modalities, one shared temperature."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import MultimodalConfig
from maskfuse.objectives.clip import clip_pair
from maskfuse.objectives.crossmodal import LogitScale, example_modalities, normalise, sum_over_pairs
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("all-pairs")
class AllPairsInfoNCE(nn.Module):
    """The pairwise sum of CLIP losses over all N(N-1)/2 modality pairs, the usual way to
    extend CLIP past two modalities (e.g. ImageBind and the pairwise baseline of Saporta
    et al., "Contrastive Learning Beyond Pairs", NeurIPS 2024). Each pair uses the rows
    that hold both of its modalities.
    """

    section = "multimodal"  # its settings, and the config key that names it: multimodal.loss

    def __init__(self, temperature: float = 0.07, max_scale: float = 100.0, gather: bool = True) -> None:
        super().__init__()
        self.scale = LogitScale(temperature, max_scale)
        self.gather = gather

    @classmethod
    def from_config(cls, c: MultimodalConfig, gather: bool = True) -> AllPairsInfoNCE:
        return cls(c.temperature, c.max_logit_scale, gather)

    def forward(self, z: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> LossOutput:
        scale = self.scale()
        pair = lambda a, b, both: clip_pair(a, b, both, scale, self.gather)  # noqa: E731
        loss, logs = sum_over_pairs(normalise(z), present, pair, "clip")
        return LossOutput(loss, {**logs, "logit_scale": float(scale.detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z, present = example_modalities("abc")
        return (), (z, present), list(z.values())
