"""MAE: encode the visible tokens only, decode all of them, regress the masked ones."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.masking.ops import gather, plan_tokens
from maskfuse.nn.decoder import MaskedDecoder
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput, MaskPlan, Tokens


def encode_decode(encoder: nn.Module, decoder: MaskedDecoder, tokens: Tokens, plan: MaskPlan) -> torch.Tensor:
    """Encode the visible tokens only, then decode every position: [B, N, Dd]."""
    visible = gather(tokens.embedded(), plan.keep_idx)  # [B, K, D]
    out = encoder(visible, gather(tokens.valid, plan.keep_idx))
    return decoder(out.tokens, plan, tokens.valid, tokens.sample_coords)


@METHODS.register("mae")
class MAE(nn.Module):
    """He et al., "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022.

    Stages: tokenize -> plan a mask -> encode visible tokens -> a light decoder fills
    the masked places with a learned token -> reconstruct their targets.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        tokenizer = self.backbone.tokenizer
        self.decoder = MaskedDecoder(self.backbone.encoder.dim, tokenizer.coords, cfg.decoder)
        self.head = tokenizer.target_head(cfg.decoder.dim, cfg.reconstruction)  # pixels, values, ids...

    def predict(self, tokens: Tokens, plan: MaskPlan) -> torch.Tensor:
        """Predictions for every token, [B, N, P] (P: the target head's width)."""
        return self.head(encode_decode(self.backbone.encoder, self.decoder, tokens, plan))

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        tokens, plan, pred = self._run(batch[self.modality], batch.get("mask_scores"))
        return self.head.loss(pred, tokens, plan.mask)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named rows of images for the report: input, masked input, reconstruction."""
        x = batch[self.modality]
        tokens, plan, pred = self._run(x, batch.get("mask_scores"))
        return self.backbone.tokenizer.pictures(x, plan.mask, pred, tokens)

    def _run(self, x: torch.Tensor, scores: torch.Tensor | None = None) -> tuple[Tokens, MaskPlan, torch.Tensor]:
        tokens = self.backbone.tokenizer(x)
        plan = plan_tokens(self.sampler, tokens, scores)
        return tokens, plan, self.predict(tokens, plan)
