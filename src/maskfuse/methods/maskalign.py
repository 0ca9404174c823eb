"""MaskAlign: align the student's visible tokens with a frozen teacher's full-input features."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import build_backbone
from maskfuse.errors import ConfigError
from maskfuse.masking.ops import gather, plan_tokens
from maskfuse.methods.data2vec import student_pictures
from maskfuse.methods.teacher import frozen_teacher
from maskfuse.objectives.reconstruction import MaskedReconstruction
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput


class DynamicAlignment(nn.Module):
    """Each teacher level is matched by its own learned mix of every student level, then
    a linear adapter to the teacher's width (MaskAlign's dynamic alignment): the student
    decides which of its depths carries what each teacher depth knows.

    Args:
        student_levels: Student blocks whose outputs are mixed.
        teacher_levels: Teacher block outputs to match.
    """

    def __init__(self, student_levels: int, teacher_levels: int, dim: int, teacher_dim: int) -> None:
        super().__init__()
        # starts as the matching depth: teacher level j from the student's level at the same relative depth
        logits = torch.full((teacher_levels, student_levels), -4.0)
        for j in range(teacher_levels):
            logits[j, student_levels - teacher_levels + j if student_levels >= teacher_levels else -1] = 4.0
        self.mix = nn.Parameter(logits)
        self.adapters = nn.ModuleList(nn.Linear(dim, teacher_dim) for _ in range(teacher_levels))

    def forward(self, states: list[torch.Tensor]) -> list[torch.Tensor]:
        stacked = torch.stack(states)  # [S, B, K, D]
        weights = self.mix.softmax(-1)  # [T, S]
        return [adapter(torch.einsum("s,sbkd->bkd", w, stacked)) for w, adapter in zip(weights, self.adapters)]


@METHODS.register("maskalign")
class MaskAlign(nn.Module):
    """Xue et al., "Stare at What You See: Masked Image Modeling without Reconstruction"
    (MaskAlign), CVPR 2023.

    Stages: the frozen teacher sees the whole input; its last teacher.top_k block
    outputs, layer-normalised, are the targets -> the student encodes the visible tokens
    only (as MAE, no decoder, no mask token) -> dynamic alignment mixes every student
    block's output into one prediction per teacher level -> smooth L1 against the
    teacher's features at the visible tokens. Nothing is reconstructed; the masked
    tokens only make the task hard (the teacher saw them, the student did not).
    """

    needs_teacher = True

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.teacher = frozen_teacher(cfg, spec, self.backbone.tokenizer.grid)
        self.levels = cfg.teacher.top_k
        depth = len(self.backbone.encoder.trunk.blocks)
        if not 1 <= self.levels <= len(self.teacher.backbone.encoder.trunk.blocks):
            raise ConfigError(f"teacher.top_k={self.levels} must lie between 1 and the teacher's depth")
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        self.align = DynamicAlignment(depth, self.levels, self.backbone.encoder.dim, self.teacher.dim)
        self.objective = MaskedReconstruction("smooth-l1")

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        targets = self.teacher.levels(x, self.levels)
        tokens = self.backbone.tokenizer(x)
        plan = plan_tokens(self.sampler, tokens, batch.get("mask_scores"))
        valid = gather(tokens.valid, plan.keep_idx)
        states = self.backbone.encoder.forward_intermediates(gather(tokens.embedded(), plan.keep_idx), valid)
        preds = self.align([s.tokens for s in states])
        everywhere = torch.ones_like(valid)
        parts = [self.objective(p, gather(t, plan.keep_idx), everywhere, valid) for p, t in zip(preds, targets)]
        loss = torch.stack([p.loss for p in parts]).mean()
        logs = {f"align_level{j}": p.logs["recon_smooth_l1"] for j, p in enumerate(parts)}
        return LossOutput(loss, logs)

    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return student_pictures(self, batch)
