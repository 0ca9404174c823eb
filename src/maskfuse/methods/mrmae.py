"""MR-MAE: mimic a frozen teacher's features on the visible tokens, then reconstruct."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.masking.ops import gather, plan_tokens
from maskfuse.methods.teacher import frozen_teacher
from maskfuse.nn.decoder import MaskedDecoder
from maskfuse.objectives.reconstruction import MaskedReconstruction
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput


@METHODS.register("mrmae")
class MimicBeforeReconstruct(nn.Module):
    """Gao et al., "Mimic before Reconstruct: Enhancing Masked Autoencoders with Feature
    Mimicking" (MR-MAE), IJCV 2023.

    Stages: MAE's encoder sees the visible tokens -> a linear head makes their encoder
    outputs mimic the frozen teacher's layer-normalised features at the same tokens
    (MSE, visible tokens only) -> MAE's decoder reconstructs the masked tokens' targets
    (pixels, values, ids: the tokenizer's head). The two losses are added. The paper's
    teacher-attention-guided masking is left to `mask.sampler` (e.g. `guided`).
    """

    needs_teacher = True

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        tokenizer = self.backbone.tokenizer
        self.teacher = frozen_teacher(cfg, spec, tokenizer.grid)
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        self.mimic = nn.Linear(self.backbone.encoder.dim, self.teacher.dim)
        self.mimic_loss = MaskedReconstruction("mse")
        self.decoder = MaskedDecoder(self.backbone.encoder.dim, tokenizer.coords, cfg.decoder)
        self.head = tokenizer.target_head(cfg.decoder.dim, cfg.reconstruction)

    def _run(self, x: torch.Tensor, scores: torch.Tensor | None):
        tokens = self.backbone.tokenizer(x)
        plan = plan_tokens(self.sampler, tokens, scores)
        visible_valid = gather(tokens.valid, plan.keep_idx)
        out = self.backbone.encoder(gather(tokens.embedded(), plan.keep_idx), visible_valid)
        pred = self.head(self.decoder(out.tokens, plan, tokens.valid))
        return tokens, plan, out, visible_valid, pred

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        (features,) = self.teacher.levels(x)
        tokens, plan, out, visible_valid, pred = self._run(x, batch.get("mask_scores"))
        target = gather(features, plan.keep_idx)
        everywhere = torch.ones_like(visible_valid)
        mimic = self.mimic_loss(self.mimic(out.tokens), target, everywhere, visible_valid)
        recon = self.head.loss(pred, tokens, plan.mask)
        return LossOutput(mimic.loss + recon.loss, {"mimic_mse": mimic.logs["recon_mse"], **recon.logs})

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Input, masked input and reconstruction, as MAE draws them."""
        x = batch[self.modality]
        tokens, plan, _, _, pred = self._run(x, batch.get("mask_scores"))
        return self.backbone.tokenizer.pictures(x, plan.mask, pred, tokens)
