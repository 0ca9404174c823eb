"""The shared trunk and the backbone (tokenizer + trunk) that every method and probe uses."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

import maskfuse.modalities  # noqa: F401  (registers the tokenizers)
from maskfuse.config import Config, ModelConfig
from maskfuse.data.base import DataSpec
from maskfuse.errors import ConfigError
from maskfuse.nn.block import Transformer
from maskfuse.registry import MODALITIES
from maskfuse.types import EncoderOutput


@dataclass(frozen=True)
class TrunkSize:
    dim: int
    depth: int
    heads: int


# Sizes are data: adding one is a line here, and recipes pick it by name.
SIZES: dict[str, TrunkSize] = {
    "nano": TrunkSize(dim=64, depth=4, heads=4),
    "micro": TrunkSize(dim=128, depth=6, heads=4),
    "tiny": TrunkSize(dim=192, depth=12, heads=3),
    "small": TrunkSize(dim=384, depth=12, heads=6),
    "base": TrunkSize(dim=768, depth=12, heads=12),
}


def trunk_size(cfg: ModelConfig) -> TrunkSize:
    if cfg.size not in SIZES:
        raise ConfigError(f"model.size: unknown size '{cfg.size}'; known: {', '.join(SIZES)}")
    base = SIZES[cfg.size]
    size = TrunkSize(cfg.dim or base.dim, cfg.depth or base.depth, cfg.heads or base.heads)
    if size.dim % size.heads:
        raise ConfigError(f"model.dim {size.dim} is not divisible by model.heads {size.heads}")
    return size


def masked_mean(tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean over valid tokens: [B, N, D], [B, N] -> [B, D]."""
    w = valid.unsqueeze(-1).to(tokens.dtype)
    return (tokens * w).sum(1) / w.sum(1).clamp_min(1.0)


class Encoder(nn.Module):
    """Transformer trunk over already-embedded tokens (positions added by the caller).

    The trunk never knows which modality or which mask produced its input: a method
    hands it the visible tokens (MAE), all tokens with mask embeddings (SimMIM), or an
    augmented view (SimCLR), and reads named outputs back.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        size = trunk_size(cfg)
        self.dim = size.dim
        self.cls = nn.Parameter(torch.zeros(1, 1, size.dim)) if cfg.cls_token else None
        if self.cls is not None:
            nn.init.normal_(self.cls, std=0.02)
        self.trunk = Transformer(size.dim, size.depth, size.heads, cfg.mlp_ratio)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> EncoderOutput:
        """Run the trunk.

        Args:
            x: Embedded tokens with positions, [B, N, D].
            valid: True for real tokens, [B, N]; None means all valid.

        Returns:
            EncoderOutput with patch tokens [B, N, D] and a pooled embedding [B, D].
        """
        x, valid, full_valid = self._prepend_cls(x, valid)
        return self._outputs(self.trunk(x, full_valid), valid)

    def forward_intermediates(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> list[EncoderOutput]:
        """Named outputs after every block (each through the final norm), for probes."""
        x, valid, full_valid = self._prepend_cls(x, valid)
        return [self._outputs(h, valid) for h in self.trunk.hidden_states(x, full_valid)]

    def _prepend_cls(self, x: torch.Tensor, valid: torch.Tensor | None):
        b, n, _ = x.shape
        if valid is None:
            valid = torch.ones(b, n, dtype=torch.bool, device=x.device)
        if self.cls is None:
            return x, valid, valid
        x = torch.cat([self.cls.expand(b, -1, -1), x], dim=1)
        return x, valid, torch.cat([valid.new_ones(b, 1), valid], dim=1)

    def _outputs(self, h: torch.Tensor, valid: torch.Tensor) -> EncoderOutput:
        cls = h[:, 0] if self.cls is not None else None
        tokens = h[:, 1:] if self.cls is not None else h
        pooled = cls if cls is not None else masked_mean(tokens, valid)
        return EncoderOutput(tokens=tokens, pooled=pooled, valid=valid, cls=cls)


class Backbone(nn.Module):
    """A tokenizer and a trunk: raw input in, named features out. What `load` returns."""

    def __init__(self, tokenizer: nn.Module, encoder: Encoder) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.encoder = encoder

    def forward_features(self, raw: torch.Tensor) -> EncoderOutput:
        tokens = self.tokenizer(raw)
        return self.encoder(tokens.embedded(), tokens.valid)

    def forward_intermediates(self, raw: torch.Tensor) -> list[EncoderOutput]:
        tokens = self.tokenizer(raw)
        return self.encoder.forward_intermediates(tokens.embedded(), tokens.valid)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        """Pooled embedding [B, D] of unmasked input."""
        return self.forward_features(raw).pooled


def build_backbone(cfg: Config, spec: DataSpec) -> Backbone:
    """The tokenizer registered for `spec.modality` and a trunk sized by cfg.model."""
    tokenizer = MODALITIES.get(spec.modality)(cfg, spec, trunk_size(cfg.model).dim)
    return Backbone(tokenizer, Encoder(cfg.model))
