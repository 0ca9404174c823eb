"""SIGMA: masked modeling whose targets are Sinkhorn-balanced clusters of learned features."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.masking.ops import plan_tokens
from maskfuse.methods.data2vec import student_pictures
from maskfuse.methods.mae import encode_decode
from maskfuse.nn.decoder import MaskedDecoder
from maskfuse.objectives.sinkhorn import SwappedAssignment
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput


def projector(width: int, hidden: int, out: int) -> nn.Sequential:
    """SIGMA-MLP's projection network: three layers, GELU between."""
    return nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                         nn.Linear(hidden, out))  # fmt: skip


@METHODS.register("sigma")
class Sigma(nn.Module):
    """Salehi et al., "SIGMA: Sinkhorn-Guided Masked Video Modeling", ECCV 2024 (the MLP
    variant: the projection network is trained with the model, no pretrained teacher).

    Stages: tokenize -> plan a mask -> encode the visible tokens -> decode every place (as
    MAE) -> at each masked place, the decoder's output and a projection network's features
    of that token's own target (its normalised pixels) are scored against shared, learned
    prototypes (cluster.prototypes) -> each side predicts the other's Sinkhorn-balanced
    assignment (`SwappedAssignment`). The reconstruction target is thus a learned,
    clustered feature of the pixels rather than the pixels themselves.

    Works on modalities whose token targets are continuous values (pixels, spectrogram
    bins, coordinates); text ids and table cells are refused.
    """

    modalities = ("image", "audio", "timeseries", "video", "volume", "motion", "points")

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        c = cfg.cluster
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        tokenizer = self.backbone.tokenizer
        self.decoder = MaskedDecoder(self.backbone.encoder.dim, tokenizer.coords, cfg.decoder)
        self.head = nn.Linear(cfg.decoder.dim, c.dim)
        self.project = projector(tokenizer.patch_dim, 2 * c.dim, c.dim)
        self.prototypes = nn.Linear(c.dim, c.prototypes, bias=False)
        self.objective = SwappedAssignment(c.temperature, c.sinkhorn_eps, c.sinkhorn_iters)

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        tokens = self.backbone.tokenizer(batch[self.modality])
        plan = plan_tokens(self.sampler, tokens, batch.get("mask_scores"))
        decoded = encode_decode(self.backbone.encoder, self.decoder, tokens, plan)  # [B, N, Dd]
        where = plan.mask & tokens.valid
        with torch.no_grad():  # unit prototypes, so scores are cosine similarities (SwAV)
            self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))
        predicted = F.normalize(self.head(decoded[where]), dim=-1)
        target = F.normalize(self.project(tokens.target[where].nan_to_num(0.0)), dim=-1)
        return self.objective(self.prototypes(predicted), self.prototypes(target))

    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return student_pictures(self, batch)
