"""SimMIM: mask tokens inside the encoder, a linear head, L1 on the masked pixels."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.masking.ops import fill_masked, plan_tokens
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput, Tokens


@METHODS.register("simmim")
class SimMIM(nn.Module):
    """Xie et al., "SimMIM: a Simple Framework for Masked Image Modeling", CVPR 2022.

    Stages: tokenize -> plan a mask -> replace masked embeddings by a learned mask
    token -> encode all tokens -> a linear head predicts each masked token's target.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        self.corruption = (cfg.mask.replace_random, cfg.mask.keep_original)
        dim = self.backbone.encoder.dim
        self.mask_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.head = self.backbone.tokenizer.target_head(dim, cfg.reconstruction)

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        tokens, mask, hidden = self._encode(batch[self.modality], batch.get("mask_scores"))
        return self.head.loss_of_hidden(hidden, tokens, mask)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named rows of images for the report: input, masked input, reconstruction."""
        x = batch[self.modality]
        tokens, mask, pred = self._run(x, batch.get("mask_scores"))
        return self.backbone.tokenizer.pictures(x, mask, pred, tokens)

    def _run(self, x: torch.Tensor, scores: torch.Tensor | None = None) -> tuple[Tokens, torch.Tensor, torch.Tensor]:
        tokens, mask, hidden = self._encode(x, scores)
        return tokens, mask, self.head(hidden)

    def _encode(self, x: torch.Tensor, scores: torch.Tensor | None) -> tuple[Tokens, torch.Tensor, torch.Tensor]:
        """Tokens, the mask planned for them, and the encoder's output tokens [B, N, D]."""
        tokens = self.backbone.tokenizer(x)
        mask = plan_tokens(self.sampler, tokens, scores).mask  # [B, N]
        out = self.backbone.encoder(fill_masked(tokens, mask, self.mask_token, *self.corruption), tokens.valid)
        return tokens, mask, out.tokens
