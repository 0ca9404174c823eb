"""data2vec: regress an EMA teacher's averaged, normalised layer outputs at masked tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import Backbone, build_backbone
from maskfuse.errors import ConfigError
from maskfuse.masking.ops import fill_masked, plan_tokens
from maskfuse.nn.ema import ema_copy, ema_update
from maskfuse.objectives.reconstruction import MaskedReconstruction
from maskfuse.registry import METHODS, SAMPLERS
from maskfuse.types import DataSpec, LossOutput


@torch.no_grad()
def teacher_targets(teacher: Backbone, x: torch.Tensor, top_k: int) -> torch.Tensor:
    """The mean of the teacher's last `top_k` block outputs, each instance-normalised over
    the tokens (per channel, no parameters), as in data2vec: [B, N, D]."""
    states = teacher.forward_intermediates(x)[-top_k:]
    normed = [F.instance_norm(s.tokens.transpose(1, 2)).transpose(1, 2) for s in states]  # [B, N, D] each
    return torch.stack(normed).mean(0)


def regress_masked_features(model: nn.Module, x: torch.Tensor, target: torch.Tensor, scores=None) -> LossOutput:
    """The student side shared by feature-target methods: mask tokens at the masked
    places (as SimMIM), encode, `model.head` regresses `target` [B, N, Dt] there with
    `model.objective`. `model` has backbone, sampler, mask_token, head, objective."""
    tokens = model.backbone.tokenizer(x)
    mask = plan_tokens(model.sampler, tokens, scores).mask
    out = model.backbone.encoder(fill_masked(tokens, mask, model.mask_token), tokens.valid)
    return model.objective(model.head(out.tokens), target, mask, tokens.valid)


@torch.no_grad()
def student_pictures(model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The input and what the student sees (its targets are features, not pixels)."""
    x = batch[model.modality]
    mask = plan_tokens(model.sampler, model.backbone.tokenizer(x), batch.get("mask_scores")).mask
    return {"input": x, "student input": model.backbone.tokenizer.mask_input(x, mask)}


@METHODS.register("data2vec")
class Data2Vec(nn.Module):
    """Baevski et al., "data2vec: A General Framework for Self-supervised Learning in
    Speech, Vision and Language", ICML 2022.

    Stages: the teacher (an EMA of the student backbone, momentum teacher.momentum)
    sees the whole input and gives targets from its last teacher.top_k blocks -> the
    student sees mask tokens at masked places (as SimMIM) -> a linear head regresses the
    targets of the masked tokens (MSE). The targets are features, not pixels, so the
    same method serves any modality whose tokenizer exists.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        t = cfg.teacher
        if not 0.0 <= t.momentum < 1.0 or t.top_k < 1:
            raise ConfigError(f"data2vec needs 0 <= teacher.momentum < 1 and teacher.top_k >= 1, got {t}")
        self.modality, self.top_k, self.momentum = spec.modality, t.top_k, t.momentum
        self.backbone = build_backbone(cfg, spec)
        self.teacher = ema_copy(self.backbone)
        self.sampler = SAMPLERS.get(cfg.mask.sampler)(cfg.mask)
        dim = self.backbone.encoder.dim
        self.mask_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.head = nn.Linear(dim, dim)
        self.objective = MaskedReconstruction("mse")

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        ema_update(self.teacher, self.backbone, self.momentum)
        target = teacher_targets(self.teacher, x, self.top_k)
        return regress_masked_features(self, x, target, batch.get("mask_scores"))

    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return student_pictures(self, batch)
