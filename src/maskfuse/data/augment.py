"""Batched augmentations that make contrastive views, per modality, on tensors.

Images use kornia: its augmentations run on whole [B, C, H, W] batches (on the GPU
when the batch is there), handle any channel count, and draw from torch's RNG, so a
seeded step gives the same views again after a resume.
"""

from __future__ import annotations

import kornia.augmentation as K
from torch import nn

from maskfuse.config import AugmentConfig
from maskfuse.data.base import DataSpec
from maskfuse.registry import Registry

AUGMENTATIONS: Registry = Registry("augmentation")


@AUGMENTATIONS.register("image")
def image_views(cfg: AugmentConfig, spec: DataSpec) -> nn.Module:
    """SimCLR's recipe for any channel count: crop, flip, brightness/contrast, blur."""
    _, h, w = spec.shape
    steps: list[nn.Module] = [K.RandomResizedCrop((h, w), scale=cfg.crop_scale)]
    if cfg.flip:
        steps.append(K.RandomHorizontalFlip())
    if cfg.brightness > 0:
        steps.append(K.RandomBrightness((1 - cfg.brightness, 1 + cfg.brightness), p=cfg.jitter_prob))
    if cfg.contrast > 0:
        steps.append(K.RandomContrast((1 - cfg.contrast, 1 + cfg.contrast), p=cfg.jitter_prob))
    if cfg.blur_prob > 0:
        k = 3 if min(h, w) < 64 else 2 * (min(h, w) // 20) + 1
        steps.append(K.RandomGaussianBlur((k, k), (0.1, 2.0), p=cfg.blur_prob))
    return K.AugmentationSequential(*steps)
