"""InfoNCE summed over every pair of N modalities, one shared temperature."""

from __future__ import annotations

from itertools import combinations

import torch
from torch import nn

from maskfuse.config import MultimodalConfig
from maskfuse.objectives.clip import clip_pair
from maskfuse.objectives.crossmodal import LogitScale, normalise
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("all-pairs")
class AllPairsInfoNCE(nn.Module):
    """The pairwise sum of CLIP losses over all N(N-1)/2 modality pairs, the usual way to
    extend CLIP past two modalities (e.g. ImageBind and the pairwise baseline of Saporta
    et al., "Contrastive Learning Beyond Pairs", NeurIPS 2024). Each pair uses the rows
    that hold both of its modalities.
    """

    def __init__(self, temperature: float = 0.07, max_scale: float = 100.0, gather: bool = True) -> None:
        super().__init__()
        self.scale = LogitScale(temperature, max_scale)
        self.gather = gather

    @classmethod
    def from_config(cls, c: MultimodalConfig, gather: bool = True) -> AllPairsInfoNCE:
        return cls(c.temperature, c.max_logit_scale, gather)

    def forward(self, z: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> LossOutput:
        unit, scale = normalise(z), self.scale()
        logs, loss = {}, torch.zeros((), device=next(iter(z.values())).device)
        for a, b in combinations(unit, 2):
            pair = clip_pair(unit[a], unit[b], present[a] & present[b], scale, self.gather)
            logs[f"clip_{a}_{b}"] = float(pair.detach())
            loss = loss + pair
        return LossOutput(loss, {**logs, "logit_scale": float(scale.detach())})
