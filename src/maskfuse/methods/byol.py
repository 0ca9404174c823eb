"""BYOL: predict an EMA target network's projection of another view, without negatives."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.encoder import build_backbone
from maskfuse.errors import ConfigError
from maskfuse.nn.ema import ema_copy, ema_update
from maskfuse.nn.heads import projection_head
from maskfuse.objectives.bootstrap import BootstrapCosine
from maskfuse.registry import METHODS
from maskfuse.types import DataSpec, LossOutput


@METHODS.register("byol")
class BYOL(nn.Module):
    """Grill et al. 2020, "Bootstrap Your Own Latent".

    Stages: two views of each sample -> online backbone, projector and predictor ->
    target backbone and projector, an EMA of the online ones (teacher.momentum) ->
    each view's prediction regresses the other view's target projection (2 - 2 cos),
    symmetrised. The predictor and the slowly moving target are what keep the embedding
    from collapsing without negatives; the online monitors' RankMe shows it if it does.
    Views come from the modality's augmentations, as SimCLR's do.
    """

    def __init__(self, cfg: Config, spec: DataSpec) -> None:
        super().__init__()
        c, momentum = cfg.contrastive, cfg.teacher.momentum
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"byol needs 0 <= teacher.momentum < 1, got {momentum}")
        self.modality, self.momentum = spec.modality, momentum
        self.backbone = build_backbone(cfg, spec)
        self.views = AUGMENTATIONS.get(spec.modality)(cfg, spec)
        self.projector = projection_head(self.backbone.encoder.dim, c.proj_hidden, c.proj_dim)
        self.predictor = projection_head(c.proj_dim, c.proj_hidden, c.proj_dim)
        self.target_backbone, self.target_projector = ema_copy(self.backbone), ema_copy(self.projector)
        self.objective = BootstrapCosine()

    def forward(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        x = batch[self.modality]
        b = x.shape[0]
        with torch.no_grad():
            views = torch.cat([self.views(x), self.views(x)])  # [2B, ...]: view 1 rows, then view 2 rows
            ema_update(self.target_backbone, self.backbone, self.momentum)
            ema_update(self.target_projector, self.projector, self.momentum)
            targets = self.target_projector(self.target_backbone(views))
        predictions = self.predictor(self.projector(self.backbone(views)))
        first = self.objective(predictions[:b], targets[b:])
        second = self.objective(predictions[b:], targets[:b])
        loss = (first.loss + second.loss) / 2
        return LossOutput(loss, {"byol": float(loss.detach()), "cos": (first.logs["cos"] + second.logs["cos"]) / 2})

    @torch.no_grad()
    def pictures(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each input and its two views, for the report."""
        x = batch[self.modality]
        return {"input": x, "online view": self.views(x), "target view": self.views(x)}
