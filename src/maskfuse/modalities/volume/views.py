"""Contrastive views of volumes: one trilinear resample per view does the crop, the rotation
about the up axis and the mirror; then intensity jitter and noise."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.types import DataSpec

XYZ = {0: 2, 1: 1, 2: 0}  # volume axis (D, H, W) -> its column in affine_grid's (x, y, z)


class VolumeViews(nn.Module):
    """Random views of [B, C, D, H, W] volumes.

    Each view keeps a random box of crop_scale of the volume (equal share per axis) and
    resamples it to the full size, turned about `up_axis` (by a multiple of 90 degrees, or
    any angle, per volume.rotate) and mirrored across a plane holding that axis with
    probability 1/2 (volume.flip); with probability jitter_prob its values are scaled by
    1 +- brightness and pulled to their mean by 1 +- contrast; noise of noise_std times
    each volume's std is added. Outside the volume reads as zero.
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.aug, self.vol = cfg.augment, cfg.volume

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        up = XYZ[self.vol.up_axis]
        a, c = (i for i in range(3) if i != up)
        if self.vol.rotate == "any":
            angle = torch.rand(b) * 2 * math.pi
        elif self.vol.rotate == "quarter":
            angle = torch.randint(0, 4, (b,)).float() * math.pi / 2
        else:
            angle = torch.zeros(b)
        turn = torch.eye(3).repeat(b, 1, 1)
        turn[:, a, a], turn[:, a, c] = angle.cos(), -angle.sin()
        turn[:, c, a], turn[:, c, c] = angle.sin(), angle.cos()
        if self.vol.flip:
            turn[:, :, a] *= torch.where(torch.rand(b) < 0.5, -1.0, 1.0)[:, None]
        lo, hi = self.aug.crop_scale
        side = torch.empty(b).uniform_(lo, hi) ** (1 / 3)  # share of each axis kept
        shift = (torch.rand(b, 3) * 2 - 1) * (1 - side)[:, None]
        theta = torch.cat([turn * side[:, None, None], shift[:, :, None]], dim=2)  # [B, 3, 4]
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        axes = tuple(range(1, x.ndim))
        jitter = (torch.rand(b) < self.aug.jitter_prob).to(x.dtype).view(-1, *[1] * (x.ndim - 1))
        gain = 1 + (torch.rand(b) * 2 - 1).view_as(jitter) * self.aug.brightness * jitter
        pull = 1 + (torch.rand(b) * 2 - 1).view_as(jitter) * self.aug.contrast * jitter
        mean = out.mean(dim=axes, keepdim=True)
        out = (mean + (out - mean) * pull) * gain
        return out + torch.randn_like(out) * self.aug.noise_std * out.std(dim=axes, keepdim=True)


@AUGMENTATIONS.register("volume")
def volume_views(cfg: Config, spec: DataSpec) -> nn.Module:
    return VolumeViews(cfg)
