"""SimCLR: two augmented views, a projection head, NT-Xent between them."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.encoder import build_backbone
from maskfuse.errors import ConfigError
from maskfuse.nn.heads import projection_head
from maskfuse.registry import METHODS, OBJECTIVES
from maskfuse.types import DataSpec, LossOutput


@METHODS.register("simclr")
class SimCLR(nn.Module):
    """Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations", 2020.

    Stages: V batched random views (2 by default) -> one trunk pass over all of them ->
    projection head -> a contrastive objective (contrastive.loss: InfoNCE, DCL, hard
    negatives or per-sample temperatures) with every other sample's views as negatives.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        self.modality = spec.modality
        self.backbone = build_backbone(cfg, spec)
        self.views = AUGMENTATIONS.get(spec.modality)(cfg, spec)
        c = cfg.contrastive
        if c.views < 2:
            raise ConfigError(f"contrastive.views must be >= 2, got {c.views}")
        self.num_views = c.views
        self.head = projection_head(self.backbone.encoder.dim, c.proj_hidden, c.proj_dim)
        self.objective = OBJECTIVES.get(c.loss).from_config(c, c.proj_dim)

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Named rows of images for the report: each input and two of its random views."""
        x = batch[self.modality]
        return {"input": x, "view 1": self.views(x), "view 2": self.views(x)}

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        with torch.no_grad():
            views = torch.cat([self.views(x) for _ in range(self.num_views)])  # [V*B, ...]
        z = self.head(self.backbone(views))  # [V*B, proj_dim]: one trunk pass over every view
        return self.objective(*z.chunk(self.num_views))
