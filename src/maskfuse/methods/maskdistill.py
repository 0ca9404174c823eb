"""MaskDistill / DMAE: predict a frozen teacher's features of the masked tokens."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.methods.data2vec import regress_masked_features, student_pictures
from maskfuse.methods.teacher import frozen_teacher
from maskfuse.objectives.reconstruction import MaskedReconstruction
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput


@METHODS.register("maskdistill")
class MaskDistill(nn.Module):
    """Peng et al., "A Unified View of Masked Image Modeling" (MaskDistill), 2022; with
    teacher.layers > 0, Bai et al., "Masked Autoencoders Enable Efficient Knowledge
    Distillers" (DMAE), CVPR 2023, which runs only the teacher's first blocks.

    Stages: the frozen teacher (any saved maskfuse run, teacher.path) sees the whole
    input; its last (or teacher.layers-th) block output, layer-normalised, is the
    target -> the student sees a learned mask token at masked places (as SimMIM) -> a
    linear head to the teacher's width -> smooth L1 on the masked tokens.
    """

    needs_teacher = True

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.teacher = frozen_teacher(cfg, spec, self.backbone.tokenizer.grid)
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        dim = self.backbone.encoder.dim
        self.mask_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.head = nn.Linear(dim, self.teacher.dim)
        self.objective = MaskedReconstruction("smooth-l1")

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        (target,) = self.teacher.levels(x)
        return regress_masked_features(self, x, target, batch.get("mask_scores"))

    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return student_pictures(self, batch)
