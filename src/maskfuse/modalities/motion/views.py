"""Contrastive views of skeleton sequences: a stretch of time, a turn about the vertical
axis, a change of scale and jitter of every joint."""

from __future__ import annotations

import math

import torch
from torch import nn

from maskfuse.config import Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.types import DataSpec


class MotionViews(nn.Module):
    """Random views of [B, 3, T, J] sequences padded at the end with NaN, padding kept.

    Each view keeps a random stretch of at least motion.time_crop of the observed frames
    (moved to the start; the rest is padding), turns the figure about motion.up_axis by up
    to max_turn of a half turn, scales it by N(1, augment.scale_std) and adds jitter of
    augment.noise_std times the sequence's spread to every coordinate.
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.aug, self.motion = cfg.augment, cfg.motion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, j = x.shape
        length = (~torch.isnan(x[:, 0, :, 0])).sum(1).clamp_min(1)  # [B]
        keep = (length * torch.empty(b).uniform_(self.motion.time_crop, 1.0)).ceil().clamp(1).minimum(length).long()
        start = (torch.rand(b) * (length - keep + 1)).floor().long()
        steps = torch.arange(t)[None]
        source = (start[:, None] + steps).clamp(max=t - 1)  # [B, T]
        out = x.gather(2, source.view(b, 1, t, 1).expand(b, c, t, j))
        out = out.masked_fill((steps >= keep[:, None]).view(b, 1, t, 1), float("nan"))
        angle = (torch.rand(b) * 2 - 1) * self.motion.max_turn * math.pi
        a, other = [i for i in range(3) if i != self.motion.up_axis]
        turned = out.clone()
        cos, sin = angle.cos().view(b, 1, 1), angle.sin().view(b, 1, 1)
        turned[:, a] = out[:, a] * cos - out[:, other] * sin
        turned[:, other] = out[:, a] * sin + out[:, other] * cos
        scale = 1 + torch.randn(b).view(b, 1, 1, 1) * self.aug.scale_std
        spread = torch.nan_to_num(turned).flatten(1).std(1).view(b, 1, 1, 1)
        return turned * scale + torch.randn_like(turned) * self.aug.noise_std * spread


@AUGMENTATIONS.register("motion")
def motion_views(cfg: Config, spec: DataSpec) -> nn.Module:
    return MotionViews(cfg)
