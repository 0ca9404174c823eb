"""Symile: contrastive learning over three or more modalities with the multilinear inner product."""

from __future__ import annotations

import math

import torch
from torch import nn

from maskfuse.config import MultimodalConfig
from maskfuse.distributed import gather_flags, gather_rows
from maskfuse.errors import ConfigError
from maskfuse.objectives.crossmodal import LogitScale, cross_entropy_rows, example_modalities, joint_mean, normalise
from maskfuse.registry import OBJECTIVES
from maskfuse.types import LossOutput


def product(vectors: list[torch.Tensor]) -> torch.Tensor:
    """Elementwise product of equally shaped tensors (the MIP's partial product)."""
    return math.prod(vectors[1:], start=vectors[0])


@OBJECTIVES.register("symile")
class SymileLoss(nn.Module):
    """Saporta et al., "Contrastive Learning Beyond Pairs" (Symile), NeurIPS 2024.

    The score of a tuple is the multilinear inner product MIP(x, y, z, ...) =
    sum_d x_d y_d z_d ...; it captures what the modalities share jointly, not only
    pairwise. Each modality in turn is the target; the loss averages them.

    Negatives (`negatives`):
      - "n": the context of row i (the product of the other modalities' row i) is scored
        against every row j of the target modality: N - 1 negatives per positive.
      - "n2": the target row i is scored against every combination (y_j, rest_k) of the
        first other modality's row j and the product of the remaining ones' row k:
        N^2 - 1 negatives (for three modalities, all pairs (y_j, z_k), as in the paper).
    Rows must hold every modality to take part.
    """

    section = "multimodal"  # its settings, and the config key that names it: multimodal.loss

    def __init__(
        self, temperature: float = 0.07, max_scale: float = 100.0, negatives: str = "n", gather: bool = True
    ) -> None:
        super().__init__()
        if negatives not in ("n", "n2"):
            raise ConfigError(f"multimodal.symile_negatives must be n or n2, got {negatives}")
        self.scale = LogitScale(temperature, max_scale)
        self.negatives = negatives
        self.gather = gather

    @classmethod
    def from_config(cls, c: MultimodalConfig, gather: bool = True) -> SymileLoss:
        return cls(c.temperature, c.max_logit_scale, c.symile_negatives, gather)

    def forward(self, z: dict[str, torch.Tensor], present: dict[str, torch.Tensor]) -> LossOutput:
        if len(z) < 2:
            raise ConfigError(f"symile needs at least 2 modalities, got {len(z)}")
        unit, scale = normalise(z), self.scale()
        full = math.prod(present.values(), start=torch.ones_like(next(iter(present.values()))))
        key_ok = gather_flags(full, self.gather)
        names = list(unit)
        loss, logs = 0.0, {}
        for target in names:
            others = [unit[m] for m in names if m != target]
            per_anchor = self._per_anchor(unit[target], others, scale, key_ok)
            term = joint_mean(per_anchor, full, self.gather)
            logs[f"symile_{target}"] = float(term.detach())
            loss = loss + term / len(names)
        return LossOutput(loss, {**logs, "logit_scale": float(scale.detach())})

    def _per_anchor(self, x: torch.Tensor, others: list[torch.Tensor], scale, key_ok) -> torch.Tensor:
        rows = x.shape[0]
        if self.negatives == "n" or len(others) < 2:
            keys, offset = gather_rows(x, self.gather)
            target = torch.arange(rows, device=x.device) + offset
            return cross_entropy_rows(scale * product(others) @ keys.T, target, key_ok)
        y, _ = gather_rows(others[0], self.gather)
        rest, offset = gather_rows(product(others[1:]), self.gather)
        n = y.shape[0]
        combos = (y[:, None] * rest[None]).reshape(n * n, -1)  # row j * n + k = (y_j, rest_k)
        g = torch.arange(rows, device=x.device) + offset
        ok = (key_ok[:, None] & key_ok[None]).reshape(-1)
        return cross_entropy_rows(scale * x @ combos.T, g * n + g, ok)

    @staticmethod
    def contract_example() -> tuple[tuple, tuple, list[torch.Tensor]]:
        """(constructor args, forward inputs, inputs that must get gradients): the contract test's case."""
        z, present = example_modalities("abc")
        return (), (z, present), list(z.values())
