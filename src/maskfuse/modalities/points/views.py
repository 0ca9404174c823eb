"""Contrastive views of point clouds: a turn about the up axis, scaling and jitter
(Point-BERT / Point-MAE's augmentations)."""

from __future__ import annotations

import math

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.types import DataSpec


class PointViews(nn.Module):
    """Random views of [B, C, P] clouds: a turn by any angle about points.up_axis (when
    points.rotate), each axis scaled by N(1, augment.scale_std), and jitter of
    augment.noise_std times the cloud's spread added to every coordinate. Features pass."""

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.aug, self.up, self.rotate = cfg.augment, cfg.points.up_axis, cfg.points.rotate

    def forward(self, clouds: torch.Tensor) -> torch.Tensor:
        b = clouds.shape[0]
        xyz = clouds[:, :3]
        a, c = [i for i in range(3) if i != self.up]
        angle = torch.rand(b) * 2 * math.pi if self.rotate else torch.zeros(b)
        cos, sin = angle.cos()[:, None], angle.sin()[:, None]
        turned = xyz.clone()
        turned[:, a] = xyz[:, a] * cos - xyz[:, c] * sin
        turned[:, c] = xyz[:, a] * sin + xyz[:, c] * cos
        scaled = turned * (1 + torch.randn(b, 3, 1) * self.aug.scale_std)
        spread = xyz.flatten(1).std(1).view(b, 1, 1)
        jittered = scaled + torch.randn_like(scaled) * self.aug.noise_std * spread
        return torch.cat([jittered, clouds[:, 3:]], dim=1)


@AUGMENTATIONS.register("points")
def point_views(cfg: Config, spec: DataSpec) -> nn.Module:
    return PointViews(cfg)
