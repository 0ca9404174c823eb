"""A frozen teacher: the backbone of any saved maskfuse run, for feature-distilling methods."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import Config
from maskfuse.encoder import Backbone
from maskfuse.errors import ConfigError
from maskfuse.pretrained import from_pretrained
from maskfuse.types import DataSpec


class FrozenTeacher(nn.Module):
    """A backbone that never trains: no gradients, always in eval mode, even under
    `model.train()`. Its weights are saved with the student's checkpoints, so a resumed
    run keeps the teacher it started with."""

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        self.backbone = backbone.requires_grad_(False).eval()
        self.dim = backbone.encoder.dim

    def train(self, mode: bool = True) -> FrozenTeacher:
        return super().train(False)

    @torch.no_grad()
    def levels(self, x: torch.Tensor, count: int = 1) -> list[torch.Tensor]:
        """The last `count` block outputs, each layer-normalised per token (no affine), as
        MaskDistill and MaskAlign normalise their targets: [B, N, D] each."""
        states = self.backbone.forward_intermediates(x)[-count:]
        return [F.layer_norm(s.tokens, (self.dim,)) for s in states]


def frozen_teacher(cfg: Config, spec: DataSpec, grid: tuple[int, ...]) -> FrozenTeacher:
    """Load cfg.teacher.path's latest checkpoint as a frozen teacher for data like `spec`
    whose student tokens lie on `grid`; keep only its first cfg.teacher.layers blocks."""
    t = cfg.teacher
    if not t.path:
        raise ConfigError(
            f"method '{cfg.method}' distils a frozen teacher: set teacher.path to a maskfuse run or export folder"
        )
    teacher = from_pretrained(t.path)  # a run folder or a `maskfuse export`
    if teacher.spec.modality != spec.modality or tuple(teacher.spec.shape) != tuple(spec.shape):
        raise ConfigError(
            f"teacher.path {t.path}: trained on {teacher.spec.modality} {list(teacher.spec.shape)}, "
            f"but this run's data is {spec.modality} {list(spec.shape)}"
        )
    if tuple(teacher.backbone.tokenizer.grid) != tuple(grid):
        raise ConfigError(
            f"teacher.path {t.path}: its tokens lie on a {list(teacher.backbone.tokenizer.grid)} grid, the student's "
            f"on {list(grid)}; use the teacher's tokenizer settings (e.g. the same image.patch_size)"
        )
    blocks = teacher.backbone.encoder.trunk.blocks
    if t.layers:
        if not 1 <= t.layers <= len(blocks):
            raise ConfigError(f"teacher.layers={t.layers}: the teacher has {len(blocks)} blocks")
        teacher.backbone.encoder.trunk.blocks = blocks[: t.layers]
    return FrozenTeacher(teacher.backbone)
