"""SimCLR's image views for a whole batch at once, in plain torch.

Each view of an image is drawn independently: a random resized crop and a horizontal
flip (one `affine_grid` / `grid_sample` for the batch), colour jitter in torchvision's
sense (brightness scales, contrast and saturation blend with the image's grey mean and
grey copy, hue rotates the chroma plane of YIQ), random greyscale, and a Gaussian blur
(one grouped convolution per axis with a kernel per image). Every draw comes from
torch's generator on the batch's device, in a fixed order, so a seeded step gives the
same views again after a resume.

Why not kornia, which the project used before: its pipeline runs one module per
operation with per-call parameter dictionaries; for 512 greyscale 28x28 views this path
is about 3x faster (benchmarks/views.py), and the views were 14-18 % of SimCLR's CPU step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import AugmentConfig

GREY = (0.299, 0.587, 0.114)  # ITU-R 601 luma, as torchvision's rgb_to_grayscale
# RGB <-> YIQ: hue is a rotation of the (I, Q) plane
RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def blur_kernel_size(height: int, width: int) -> int:
    """Odd kernel size: 3 for small images, about a tenth of the short side otherwise."""
    side = min(height, width)
    return 3 if side < 64 else 2 * (side // 20) + 1


class ImageViews(nn.Module):
    """Random views of [B, C, H, W] images in [0, 1] (any channel count; saturation, hue
    and greyscale apply to 3-channel images only).

    Args:
        cfg: crop_scale (area share of the crop), flip, brightness / contrast /
            saturation / hue strengths applied together with probability jitter_prob,
            grayscale_prob, and blur_prob (sigma uniform in [0.1, 2.0]).
        height, width: The image size (views keep it).
    """

    def __init__(self, cfg: AugmentConfig, height: int, width: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.kernel = blur_kernel_size(height, width)
        self.register_buffer("rgb_to_yiq", torch.tensor(RGB_TO_YIQ), persistent=False)
        self.register_buffer("yiq_to_rgb", torch.linalg.inv(torch.tensor(RGB_TO_YIQ)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.crop_and_flip(x)
        x = self.jitter(x)
        if x.shape[1] == 3 and self.cfg.grayscale_prob > 0:
            grey = self._uniform(len(x), x) < self.cfg.grayscale_prob  # [B]
            x = torch.where(grey[:, None, None, None], _grey(x).expand_as(x), x)
        if self.cfg.blur_prob > 0:
            x = self.blur(x)
        return x

    @staticmethod
    def _uniform(n: int, like: torch.Tensor, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
        return torch.rand(n, device=like.device, dtype=like.dtype) * (hi - lo) + lo

    def crop_and_flip(self, x: torch.Tensor) -> torch.Tensor:
        """Random resized crops (aspect 3/4 to 4/3), each flipped with probability 1/2,
        resampled bilinearly to the input size."""
        b = len(x)
        lo, hi = self.cfg.crop_scale
        area = self._uniform(b, x, lo, hi)
        ratio = torch.exp(self._uniform(b, x, math.log(3 / 4), math.log(4 / 3)))
        w = (area * ratio).sqrt().clamp(max=1.0)  # crop width as a share of the image width
        h = (area / ratio).sqrt().clamp(max=1.0)
        cx = self._uniform(b, x) * (1 - w) + w / 2  # crop centre in [0, 1]
        cy = self._uniform(b, x) * (1 - h) + h / 2
        sign = torch.ones(b, device=x.device, dtype=x.dtype)
        if self.cfg.flip:
            sign = torch.where(self._uniform(b, x) < 0.5, -sign, sign)
        theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)  # output (-1..1) -> input (-1..1)
        theta[:, 0, 0], theta[:, 0, 2] = w * sign, 2 * cx - 1
        theta[:, 1, 1], theta[:, 1, 2] = h, 2 * cy - 1
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def jitter(self, x: torch.Tensor) -> torch.Tensor:
        """Brightness, contrast, then (3 channels) saturation and hue, on the images drawn
        with probability jitter_prob; each step clamps to [0, 1], as torchvision does."""
        c, b = self.cfg, len(x)
        on = (self._uniform(b, x) < c.jitter_prob).to(x.dtype)  # [B]

        def factor(strength: float) -> torch.Tensor:  # 1 where the image is not jittered
            return (1 + on * self._uniform(b, x, -strength, strength))[:, None, None, None]

        if c.brightness > 0:
            x = (x * factor(c.brightness)).clamp(0, 1)
        if c.contrast > 0:
            mean = _grey(x).mean(dim=(1, 2, 3), keepdim=True)
            x = ((x - mean) * factor(c.contrast) + mean).clamp(0, 1)
        if x.shape[1] != 3:
            return x
        if c.saturation > 0:
            grey = _grey(x)
            x = ((x - grey) * factor(c.saturation) + grey).clamp(0, 1)
        if c.hue > 0:
            angle = 2 * math.pi * on * self._uniform(b, x, -c.hue, c.hue)
            cos, sin = angle.cos(), angle.sin()
            rot = torch.zeros(b, 3, 3, device=x.device, dtype=x.dtype)
            rot[:, 0, 0], rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = 1, cos, -sin, sin, cos
            mix = self.yiq_to_rgb.to(x.dtype) @ rot @ self.rgb_to_yiq.to(x.dtype)  # [B, 3, 3]
            x = torch.einsum("bij,bjhw->bihw", mix, x).clamp(0, 1)
        return x

    def blur(self, x: torch.Tensor) -> torch.Tensor:
        """Gaussian blur with probability blur_prob, sigma in [0.1, 2.0]: a kernel per image
        (a unit impulse where it is not blurred), applied per axis by a grouped convolution."""
        b, ch, hgt, wid = x.shape
        k = self.kernel
        sigma = self._uniform(b, x, 0.1, 2.0)
        on = self._uniform(b, x) < self.cfg.blur_prob
        taps = torch.arange(k, device=x.device, dtype=x.dtype) - k // 2
        kern = torch.exp(-(taps[None] ** 2) / (2 * sigma[:, None] ** 2))
        kern = kern / kern.sum(1, keepdim=True)
        impulse = (taps == 0).to(x.dtype).expand(b, k)
        kern = torch.where(on[:, None], kern, impulse).repeat_interleave(ch, dim=0)  # [B*C, k]
        flat = F.pad(x.reshape(1, b * ch, hgt, wid), (k // 2,) * 4, mode="reflect")
        flat = F.conv2d(flat, kern[:, None, :, None], groups=b * ch)  # along the height
        flat = F.conv2d(flat, kern[:, None, None, :], groups=b * ch)  # along the width
        return flat.reshape(b, ch, hgt, wid)


def _grey(x: torch.Tensor) -> torch.Tensor:
    """[B, 1, H, W] luma of 3-channel images, or the mean over channels otherwise."""
    if x.shape[1] != 3:
        return x.mean(dim=1, keepdim=True)
    w = torch.tensor(GREY, device=x.device, dtype=x.dtype)
    return torch.einsum("c,bchw->bhw", w, x)[:, None]
