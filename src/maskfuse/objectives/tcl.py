"""TCL-style triple contrast: cross-modal alignment plus intra-modal view contrast."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import MultimodalConfig
from maskfuse.objectives.clip import clip_pair
from maskfuse.objectives.crossmodal import LogitScale, example_modalities, normalise, sum_over_pairs
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


@OBJECTIVES.register("tcl")
class TripleContrast(nn.Module):
    """Yang et al., "Vision-Language Pre-Training with Triple Contrastive Learning", CVPR
    2022: besides aligning modalities (CMA, here CLIP over every pair), each modality's
    embedding is contrasted with a second view of the same sample (IMC), so the space
    keeps intra-modal structure. The view comes from the method (a different random
    token drop). TCL's local mutual-information term is not included.

    Args:
        weight: Weight of the intra-modal terms against the cross-modal ones.
    """

    section = "multimodal"  # its settings, and the config key that names it: multimodal.loss

    needs_views = True  # the method passes a second embedding of every modality

    def __init__(self, temperature: float = 0.07, max_scale: float = 100.0, weight: float = 1.0, gather: bool = True):
        super().__init__()
        self.scale = LogitScale(temperature, max_scale)
        self.weight = weight
        self.gather = gather

    @classmethod
    def from_config(cls, c: MultimodalConfig, gather: bool = True) -> TripleContrast:
        return cls(c.temperature, c.max_logit_scale, c.tcl_weight, gather)

    def forward(
        self, z: dict[str, torch.Tensor], present: dict[str, torch.Tensor], views: dict[str, torch.Tensor]
    ) -> LossOutput:
        unit, other, scale = normalise(z), normalise(views), self.scale()
        pair = lambda a, b, both: clip_pair(a, b, both, scale, self.gather)  # noqa: E731
        loss, logs = sum_over_pairs(unit, present, pair, "cma")
        for m in unit:
            term = clip_pair(unit[m], other[m], present[m], scale, self.gather)
            logs[f"imc_{m}"] = float(term.detach())
            loss = loss + self.weight * term
        return LossOutput(loss, {**logs, "logit_scale": float(scale.detach())})

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z, present = example_modalities("ab")
        views = {"a": torch.randn(8, 5, requires_grad=True), "b": torch.randn(8, 5)}
        return (), (z, present, views), [*z.values(), views["a"]]
