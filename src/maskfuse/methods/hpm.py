"""HPM: MAE that also learns which patches are hard, and masks those (easy to hard)."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.masking.hardpatch import HardPatchSampler
from maskfuse.masking.ops import gather
from maskfuse.methods.mae import encode_decode
from maskfuse.nn.decoder import MaskedDecoder
from maskfuse.objectives.loss_predictor import RelativeLossPrediction
from maskfuse.registry import METHODS
from maskfuse.types import DataSpec, LossOutput, MaskPlan, Tokens


@METHODS.register("hpm")
class HPM(nn.Module):
    """Wang et al., "Hard Patches Mining for Masked Image Modeling", CVPR 2023.

    Stages: tokenize -> score every token's difficulty with the loss predictor (a
    no-gradient pass with nothing masked) -> the hardpatch sampler masks the predicted
    hardest share (mask.hard_start -> mask.hard_end over training) plus random tokens ->
    MAE encode / decode -> reconstruction loss + the relative loss of the predictor
    against the true per-token losses of the masked tokens.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.sampler = HardPatchSampler(cfg.mask)
        tokenizer = self.backbone.tokenizer
        self.decoder = MaskedDecoder(self.backbone.encoder.dim, tokenizer.coords, cfg.decoder)
        self.head = tokenizer.target_head(cfg.decoder.dim, cfg.reconstruction)
        self.loss_head = nn.Linear(cfg.decoder.dim, 1)
        self.ranking = RelativeLossPrediction()
        self.progress = 0.0

    def set_progress(self, fraction: float) -> None:
        """Called by the trainer before each step: moves the easy-to-hard schedule."""
        self.progress = fraction

    @torch.no_grad()
    def difficulty(self, tokens: Tokens) -> torch.Tensor:
        """Predicted reconstruction loss of every token, [B, N] (higher = harder)."""
        b, n = tokens.valid.shape
        everything = torch.arange(n, device=tokens.x.device).expand(b, n)
        plan = MaskPlan(everything, everything[:, :0], n)
        return self.loss_head(encode_decode(self.backbone.encoder, self.decoder, tokens, plan)).squeeze(-1)

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        tokens, plan, feats = self._run(batch[self.modality])
        pred = self.head(feats)
        recon = self.head.loss(pred, tokens, plan.mask)
        per_token = self.head.per_token(pred, tokens)  # [B, N] true difficulty (the ranking detaches it)
        scores = self.loss_head(feats).squeeze(-1)
        rank = self.ranking(gather(scores, plan.pred_idx), gather(per_token, plan.pred_idx))
        logs = {**recon.logs, **rank.logs, "hard_share": self.sampler.share_at(self.progress)}
        return LossOutput(recon.loss + rank.loss, logs)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Input, the hard-patch mask, and the reconstruction, for the report."""
        x = batch[self.modality]
        tokens, plan, feats = self._run(x)
        return self.backbone.tokenizer.pictures(x, plan.mask, self.head(feats), tokens)

    def _run(self, x: torch.Tensor) -> tuple[Tokens, MaskPlan, torch.Tensor]:
        tokens = self.backbone.tokenizer(x)
        share = self.sampler.share_at(self.progress)
        scores = self.difficulty(tokens) if share > 0 else None
        plan = self.sampler(tokens.grid, tokens.x.shape[0], valid=tokens.valid, scores=scores, hard_share=share)
        plan = plan.to(tokens.x.device)
        return tokens, plan, encode_decode(self.backbone.encoder, self.decoder, tokens, plan)
