"""Contrastive views of clips: two clips of one video (VideoMAE / CVRL-style), each a random
stretch of its frames with one spatial crop and flip for the whole stretch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import Config
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.types import DataSpec


class ClipViews(nn.Module):
    """Random views of [B, C, T, H, W] clips.

    Each view takes a random stretch of at least video.time_crop of the frames, resampled
    (nearest frame) to T; a random-resized crop of crop_scale of the frame area (aspect 3/4
    to 4/3), the same for every frame so motion stays motion, resized back bilinearly;
    a horizontal flip with probability 1/2 when augment.flip; with probability jitter_prob a
    brightness and contrast change of 1 +- augment.brightness / contrast for the clip.
    """

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.aug, self.time_crop = cfg.augment, cfg.video.time_crop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        span = (torch.empty(b).uniform_(self.time_crop, 1.0) * t).clamp(1, t)
        start = torch.rand(b) * (t - span)
        steps = (start[:, None] + (torch.arange(t) + 0.5)[None] * span[:, None] / t).floor().clamp(0, t - 1).long()
        x = x.gather(2, steps.view(b, 1, t, 1, 1).expand(b, c, t, h, w))
        lo, hi = self.aug.crop_scale
        area = torch.empty(b).uniform_(lo, hi)
        aspect = torch.exp(torch.empty(b).uniform_(-0.2877, 0.2877))  # log(3/4), log(4/3)
        sw, sh = (area * aspect).sqrt(), (area / aspect).sqrt()
        wide, tall = sw > 1, sh > 1  # a side past the frame: keep the area, squeeze the other side
        sw, sh = (
            torch.where(wide, 1.0, torch.where(tall, area, sw)),
            torch.where(tall, 1.0, torch.where(wide, area, sh)),
        )
        flip = torch.where((torch.rand(b) < 0.5) & self.aug.flip, -1.0, 1.0)
        theta = torch.zeros(b, 2, 3)
        theta[:, 0, 0], theta[:, 1, 1] = sw * flip, sh
        theta[:, 0, 2] = (torch.rand(b) * 2 - 1) * (1 - sw)
        theta[:, 1, 2] = (torch.rand(b) * 2 - 1) * (1 - sh)
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        grid = F.affine_grid(theta.repeat_interleave(t, 0).to(x.dtype), [b * t, c, h, w], align_corners=False)
        out = F.grid_sample(frames, grid, mode="bilinear", padding_mode="border", align_corners=False)
        out = out.view(b, t, c, h, w).permute(0, 2, 1, 3, 4)
        jitter = (torch.rand(b) < self.aug.jitter_prob).to(x.dtype).view(b, 1, 1, 1, 1)
        gain = 1 + (torch.rand(b) * 2 - 1).view_as(jitter) * self.aug.brightness * jitter
        pull = 1 + (torch.rand(b) * 2 - 1).view_as(jitter) * self.aug.contrast * jitter
        mean = out.mean(dim=(1, 2, 3, 4), keepdim=True)
        return (mean + (out - mean) * pull) * gain


@AUGMENTATIONS.register("video")
def clip_views(cfg: Config, spec: DataSpec) -> nn.Module:
    return ClipViews(cfg)
