"""The shared trunk and the backbone (tokenizer + trunk) that every method and probe uses."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import Config, ModelConfig
from maskfuse.errors import ConfigError
from maskfuse.init_from import init_from
from maskfuse.modalities import load_all
from maskfuse.nn.block import Transformer
from maskfuse.nn.heads import SharedSpaceHead
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec, EncoderOutput, Tokens

if TYPE_CHECKING:
    from maskfuse.data.base import ArrayDataset

load_all()  # every tokenizer registers itself in MODALITIES


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
    """A tokenizer and a trunk: raw input in, named features out. What `load` returns.

    `tag` is a learned modality embedding added to every token's position, when the
    trunk is shared by several modalities (multimodal runs); None otherwise.
    """

    def __init__(self, tokenizer: nn.Module, encoder: Encoder, tag: nn.Parameter | None = None) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.tag = tag

    def tokens(self, raw: torch.Tensor) -> Tokens:
        tokens = self.tokenizer(raw)
        return tokens if self.tag is None else replace(tokens, pos=tokens.pos + self.tag)

    def forward_features(self, raw: torch.Tensor) -> EncoderOutput:
        tokens = self.tokens(raw)
        return self.encoder(tokens.embedded(), tokens.valid)

    def forward_intermediates(self, raw: torch.Tensor) -> list[EncoderOutput]:
        tokens = self.tokens(raw)
        return self.encoder.forward_intermediates(tokens.embedded(), tokens.valid)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        """Pooled embedding [B, D] of unmasked input."""
        return self.forward_features(raw).pooled


class MultiBackbone(nn.Module):
    """Per-modality tokenizers and modality embeddings, one shared trunk or one trunk per
    modality (model config `multimodal.shared_trunk`: the same code path, a list of one
    or M trunks), and per-modality linear projections into a shared space.

    `part(name)` is that modality's `Backbone`, so every single-modality probe, k-NN and
    `embed` works on a multimodal run; `shared(name, raw)` is the unit-norm embedding in
    the joint space (retrieval, zero-shot).
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        if len(spec.parts) < 2:
            raise ConfigError(f"multimodal methods need paired data of at least 2 modalities, got {list(spec.parts)}")
        self.names = list(spec.parts)
        dim = trunk_size(cfg.model).dim
        self.dim = dim
        trunks = 1 if cfg.multimodal.shared_trunk else len(self.names)
        self.trunks = nn.ModuleList(Encoder(cfg.model) for _ in range(trunks))
        self.tokenizers = nn.ModuleDict({m: MODALITIES.get(p.modality)(cfg, p, dim) for m, p in spec.parts.items()})
        self.tags = nn.ParameterDict({m: nn.Parameter(torch.randn(1, 1, dim) * 0.02) for m in self.names})
        self.heads = nn.ModuleDict({m: SharedSpaceHead(dim, cfg.multimodal.proj_dim) for m in self.names})

    def trunk(self, name: str) -> Encoder:
        return self.trunks[0] if len(self.trunks) == 1 else self.trunks[self.names.index(name)]

    def part(self, name: str) -> Backbone:
        """Modality `name` as a single-modality backbone (shares this module's weights)."""
        return Backbone(self.tokenizers[name], self.trunk(name), self.tags[name])

    def project(self, name: str, pooled: torch.Tensor) -> torch.Tensor:
        """Pooled trunk features [B, D] -> unit vectors in the shared space [B, P]."""
        return F.normalize(self.heads[name](pooled), dim=-1)

    def shared(self, name: str, raw: torch.Tensor) -> torch.Tensor:
        return self.project(name, self.part(name)(raw))


def build_backbone(cfg: Config, spec: DataSpec) -> Backbone | MultiBackbone:
    """The tokenizer registered for `spec.modality` and a trunk sized by cfg.model; for
    paired data (spec.parts) a MultiBackbone over every modality."""
    if spec.parts:
        if cfg.model.init:
            raise ConfigError("model.init starts single-modality encoders; paired runs do not take it yet")
        return MultiBackbone(cfg, spec)
    tokenizer = MODALITIES.get(spec.modality)(cfg, spec, trunk_size(cfg.model).dim)
    backbone = Backbone(tokenizer, Encoder(cfg.model))
    if cfg.model.init:  # before a method copies it into EMA teachers, so they start from it too
        backbone.init_rows = init_from(backbone, cfg.model.init, cfg.model.init_strict)
    return backbone


@torch.no_grad()
def embed_dataset(backbone: nn.Module, data: ArrayDataset, batch_size: int = 512) -> torch.Tensor:
    """Pooled embeddings [N, D] on the CPU, with the backbone in eval mode."""
    device = next(backbone.parameters()).device
    was_training = backbone.training
    backbone.eval()
    out = [backbone(data.inputs[i : i + batch_size].to(device)).cpu() for i in range(0, len(data), batch_size)]
    backbone.train(was_training)
    return torch.cat(out)
