"""SimCLR: two augmented views, a projection head, NT-Xent between them."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.data.base import DataSpec
from maskfuse.encoder import build_backbone
from maskfuse.nn.heads import projection_head
from maskfuse.objectives.infonce import InfoNCE
from maskfuse.registry import METHODS
from maskfuse.types import LossOutput


@METHODS.register("simclr")
class SimCLR(nn.Module):
    """Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations", 2020.

    Stages: two batched random views -> one trunk pass over both -> projection head ->
    InfoNCE with every other view as a negative.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.views = AUGMENTATIONS.get(spec.modality)(cfg.augment, spec)
        c = cfg.contrastive
        self.head = projection_head(self.backbone.encoder.dim, c.proj_hidden, c.proj_dim)
        self.objective = InfoNCE(c.temperature, c.gather)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named rows of images for the report: each input and two of its random views."""
        x = batch[self.modality]
        return {"input": x, "view 1": self.views(x).clamp(0, 1), "view 2": self.views(x).clamp(0, 1)}

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        b = x.shape[0]
        with torch.no_grad():
            views = torch.cat([self.views(x), self.views(x)])  # [2B, ...]
        z = self.head(self.backbone(views))  # [2B, proj_dim]
        return self.objective(z[:b], z[b:])
