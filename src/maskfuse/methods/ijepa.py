"""I-JEPA: predict an EMA target encoder's features of masked blocks from a context block."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.errors import ConfigError
from maskfuse.masking.ops import plan_tokens
from maskfuse.methods.mae import encode_decode
from maskfuse.nn.decoder import MaskedDecoder
from maskfuse.nn.ema import ema_copy, ema_update
from maskfuse.objectives.reconstruction import MaskedReconstruction
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput, MaskPlan, Tokens


@METHODS.register("ijepa")
class IJEPA(nn.Module):
    """Assran et al., "Self-Supervised Learning from Images with a Joint-Embedding
    Predictive Architecture", CVPR 2023.

    Stages: the target encoder (EMA of the context encoder, teacher.momentum) embeds the
    whole input; its layer-normed token features are the targets -> the context encoder
    sees only the context tokens of the plan (mask.sampler, `multiblock` in the recipe)
    -> a narrow predictor (the `decoder` settings) puts positional mask tokens at every
    other place and predicts the target features there -> MSE on the target tokens.
    Unlike the paper, all target blocks are predicted in one predictor pass over their
    union, not one pass per block: the same targets for a quarter of the predictor cost.
    Nothing is reconstructed in pixel space.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        if not 0.0 <= cfg.teacher.momentum < 1.0:
            raise ConfigError(f"ijepa needs 0 <= teacher.momentum < 1, got {cfg.teacher.momentum}")
        self.modality, self.momentum = spec.modality, cfg.teacher.momentum
        self.backbone = build_backbone(cfg, spec)
        self.teacher = ema_copy(self.backbone)
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        dim = self.backbone.encoder.dim
        self.predictor = MaskedDecoder(dim, self.backbone.tokenizer.coords, cfg.decoder)
        self.project = nn.Linear(cfg.decoder.dim, dim)
        self.objective = MaskedReconstruction("mse")

    @torch.no_grad()
    def targets(self, x: torch.Tensor) -> torch.Tensor:
        """Layer-normed token features of the target encoder, [B, N, D]."""
        tokens = self.teacher.forward_features(x).tokens
        return F.layer_norm(tokens, tokens.shape[-1:])

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        ema_update(self.teacher, self.backbone, self.momentum)
        target = self.targets(x)
        tokens, plan = self._plan(x, batch.get("mask_scores"))
        pred = self.project(encode_decode(self.backbone.encoder, self.predictor, tokens, plan))
        return self.objective(pred, target, plan.mask, tokens.valid)

    def _plan(self, x: torch.Tensor, scores: torch.Tensor | None) -> tuple[Tokens, MaskPlan]:
        tokens = self.backbone.tokenizer(x)
        return tokens, plan_tokens(self.sampler, tokens, scores)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The input, the context the encoder sees, and the targets it must predict."""
        x = batch[self.modality]
        tokens, plan = self._plan(x, batch.get("mask_scores"))
        tok = self.backbone.tokenizer
        hidden = ~torch.zeros_like(plan.mask).scatter(1, plan.keep_idx, True)  # neither context nor shown
        return {"input": x, "context": tok.mask_input(x, hidden), "targets": tok.mask_input(x, ~plan.mask)}
