"""MAE: encode the visible tokens only, decode all of them, regress the masked ones."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.data.base import DataSpec
from maskfuse.encoder import build_backbone
from maskfuse.masking.ops import gather, merge
from maskfuse.nn.block import Transformer
from maskfuse.nn.pos import sincos
from maskfuse.objectives.reconstruction import MaskedReconstruction
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import LossOutput, MaskPlan, Tokens


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
        tokenizer, dec = self.backbone.tokenizer, cfg.decoder
        self.decoder_embed = nn.Linear(self.backbone.encoder.dim, dec.dim)
        self.mask_token = nn.Parameter(torch.randn(dec.dim) * 0.02)
        self.decoder = Transformer(dec.dim, dec.depth, dec.heads)
        self.head = nn.Linear(dec.dim, tokenizer.patch_dim)
        self.register_buffer("decoder_pos", sincos(tokenizer.coords, dec.dim)[None], persistent=False)
        self.objective = MaskedReconstruction(cfg.reconstruction.loss)

    def predict(self, tokens: Tokens, plan: MaskPlan) -> torch.Tensor:
        """Predicted targets for every token, [B, N, P]."""
        visible = gather(tokens.embedded(), plan.keep_idx)  # [B, K, D]
        out = self.backbone.encoder(visible, gather(tokens.valid, plan.keep_idx))
        full = merge(self.decoder_embed(out.tokens), plan, self.mask_token)  # [B, N, Dd]
        return self.head(self.decoder(full + self.decoder_pos, tokens.valid))

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        tokens, plan, pred = self._run(batch[self.modality])
        return self.objective(pred, tokens.target, plan.mask, tokens.valid)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named rows of images for the report: input, masked input, reconstruction."""
        x = batch[self.modality]
        tokens, plan, pred = self._run(x)
        return self.backbone.tokenizer.pictures(x, plan.mask, pred, tokens)

    def _run(self, x: torch.Tensor) -> tuple[Tokens, MaskPlan, torch.Tensor]:
        tokens = self.backbone.tokenizer(x)
        plan = self.sampler(tokens.grid, tokens.x.shape[0], valid=tokens.valid).to(tokens.x.device)
        return tokens, plan, self.predict(tokens, plan)
