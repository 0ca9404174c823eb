"""Batched augmentations that make contrastive views, per modality, on tensors.

Every view function draws from torch's generator on the batch's device, so a seeded
step gives the same views again after a resume. Images: `image_views.ImageViews`.
"""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import AugmentConfig, Config
from maskfuse.data.image_views import ImageViews
from maskfuse.registry import Registry
from maskfuse.types import DataSpec

AUGMENTATIONS: Registry = Registry("augmentation")  # modality -> builder(cfg: Config, spec) -> views module


@AUGMENTATIONS.register("image")
def image_views(cfg: Config, spec: DataSpec) -> nn.Module:
    """SimCLR's recipe for any channel count: crop, flip, colour jitter, greyscale, blur."""
    _, h, w = spec.shape
    return ImageViews(cfg.augment, h, w)


class SeriesViews(nn.Module):
    """Random views of [B, C, T] series padded at the end with NaN, padding kept in place.

    Each view crops a window of crop_scale of the observed length and stretches it back
    (linear interpolation), shifts it circularly by up to `shift` of its length, scales
    each channel by N(1, scale_std) and adds jitter of noise_std times the series' std
    (Um et al. 2017; Yue et al., TS2Vec 2022).
    """

    def __init__(self, cfg: AugmentConfig) -> None:
        super().__init__()
        self.crop_scale, self.shift = cfg.crop_scale, cfg.shift
        self.noise_std, self.scale_std = cfg.noise_std, cfg.scale_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        observed = ~torch.isnan(x[:, 0])  # [B, T]; every channel has the same length
        length = observed.sum(1).clamp_min(1).to(x.dtype)  # [B]
        lo, hi = self.crop_scale
        crop = (length * torch.empty(b).uniform_(lo, hi)).clamp_min(2.0).minimum(length)
        start = torch.rand(b) * (length - crop)
        steps = torch.arange(t, dtype=x.dtype)[None]  # [1, T]
        offset = ((torch.rand(b) * 2 - 1) * self.shift * length).round()  # whole steps
        where = torch.remainder(steps + offset[:, None], length[:, None])  # circular shift, [B, T]
        pos = start[:, None] + where / (length[:, None] - 1).clamp_min(1) * (crop[:, None] - 1)
        left = pos.floor().clamp(0, t - 1)
        right = (left + 1).minimum(length[:, None] - 1)
        w = (pos - left)[:, None]  # [B, 1, T]
        values = x.nan_to_num(0.0)

        def take(idx: torch.Tensor) -> torch.Tensor:
            return values.gather(2, idx.long()[:, None].expand(b, c, t))

        out = take(left) * (1 - w) + take(right) * w
        std = _observed_std(x)  # [B, C, 1]
        out = out * (1 + self.scale_std * torch.randn(b, c, 1)) + self.noise_std * std * torch.randn(b, c, t)
        return out.masked_fill(~observed[:, None], float("nan"))


def _observed_std(x: torch.Tensor) -> torch.Tensor:
    observed = ~torch.isnan(x)
    n = observed.sum(-1, keepdim=True).clamp_min(1)
    mean = x.nan_to_num(0.0).sum(-1, keepdim=True) / n
    return ((torch.where(observed, x - mean, 0.0) ** 2).sum(-1, keepdim=True) / n).sqrt()


@AUGMENTATIONS.register("timeseries")
def series_views(cfg: Config, spec: DataSpec) -> nn.Module:
    return SeriesViews(cfg.augment)


class TableViews(nn.Module):
    """Random views of table rows [B, F]: each view hides a random `feature_mask` share of
    the columns (they become the missing token) and jitters numeric cells.

    Yao et al., "Self-supervised Learning for Large-scale Item Recommendations", CIKM
    2021 (feature masking); here each view draws its own mask, so the two views of a
    row overlap at random rather than being exact complements.
    """

    def __init__(self, cfg: AugmentConfig, spec: DataSpec) -> None:
        super().__init__()
        self.share, self.noise = cfg.feature_mask, cfg.noise_std
        enc = spec.meta["encoding"]
        scale = torch.tensor(spec.meta["scale"], dtype=torch.float32)
        self.register_buffer("numeric_scale", scale * torch.tensor([k == "numeric" for k in enc["kinds"]]))

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        hide = torch.rand_like(rows) < self.share
        jitter = self.noise * self.numeric_scale * torch.randn_like(rows)
        return (rows + jitter).masked_fill(hide, float("nan"))


@AUGMENTATIONS.register("table")
def table_views(cfg: Config, spec: DataSpec) -> nn.Module:
    return TableViews(cfg.augment, spec)


class TextViews(nn.Module):
    """Random views of id sequences [B, L]: each view replaces a `feature_mask` share of
    the real tokens by [MASK] (token masking, as in SimCSE-style and CERT text views)."""

    def __init__(self, cfg: AugmentConfig, spec: DataSpec) -> None:
        super().__init__()
        self.share, self.pad, self.mask = cfg.feature_mask, spec.meta["pad_id"], spec.meta["mask_id"]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hide = (torch.rand(ids.shape) < self.share) & (ids != self.pad)
        return ids.masked_fill(hide, self.mask)


@AUGMENTATIONS.register("text")
def text_views(cfg: Config, spec: DataSpec) -> nn.Module:
    return TextViews(cfg.augment, spec)
