"""Batched image views against naive per-image reference loops."""

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from maskfuse.config import AugmentConfig
from maskfuse.data.image_views import GREY, ImageViews


def draws(seed: int, n: int, b: int) -> list[torch.Tensor]:
    """The first n uniform draws of b values each after seeding, as the views make them."""
    torch.manual_seed(seed)
    return [torch.rand(b) for _ in range(n)]


def bilinear(img: np.ndarray, x: float, y: float) -> np.ndarray:
    """img[C, H, W] at pixel coordinates (x, y), edges clamped (grid_sample's border mode)."""
    _, h, w = img.shape
    x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    ax, ay = x - x0, y - y0
    top = img[:, y0, x0] * (1 - ax) + img[:, y0, x1] * ax
    bottom = img[:, y1, x0] * (1 - ax) + img[:, y1, x1] * ax
    return top * (1 - ay) + bottom * ay


def test_crop_and_flip_match_a_per_pixel_reference():
    cfg = AugmentConfig(crop_scale=(0.2, 1.0))
    x = torch.rand(6, 3, 10, 12)
    torch.manual_seed(3)
    out = ImageViews(cfg, 10, 12).crop_and_flip(x).numpy()
    area, ratio_u, cx_u, cy_u, flip_u = draws(3, 5, 6)
    lo, hi = cfg.crop_scale
    for i in range(6):
        ratio = math.exp(math.log(3 / 4) + float(ratio_u[i]) * (math.log(4 / 3) - math.log(3 / 4)))
        a = lo + float(area[i]) * (hi - lo)
        w, h = min(math.sqrt(a * ratio), 1.0), min(math.sqrt(a / ratio), 1.0)
        cx, cy = float(cx_u[i]) * (1 - w) + w / 2, float(cy_u[i]) * (1 - h) + h / 2
        sign = -1.0 if flip_u[i] < 0.5 else 1.0
        for r in range(10):
            for c in range(12):
                gx, gy = (2 * c + 1) / 12 - 1, (2 * r + 1) / 10 - 1  # output pixel centre, normalised
                sx, sy = w * sign * gx + 2 * cx - 1, h * gy + 2 * cy - 1
                want = bilinear(x[i].numpy(), ((sx + 1) * 12 - 1) / 2, ((sy + 1) * 10 - 1) / 2)
                np.testing.assert_allclose(out[i, :, r, c], want, atol=1e-5)


def test_brightness_and_contrast_follow_torchvision():
    cfg = AugmentConfig(brightness=0.4, contrast=0.4, jitter_prob=0.5)
    x = torch.rand(8, 1, 5, 5)
    torch.manual_seed(4)
    out = ImageViews(cfg, 5, 5).jitter(x)
    on, bright, contrast = draws(4, 3, 8)
    for i in range(8):
        img = x[i].clone()
        if on[i] < 0.5:
            img = (img * (1 + (bright[i] * 0.8 - 0.4))).clamp(0, 1)
            img = ((img - img.mean()) * (1 + (contrast[i] * 0.8 - 0.4)) + img.mean()).clamp(0, 1)
        torch.testing.assert_close(out[i], img, atol=1e-6, rtol=0)


def test_saturation_and_hue_leave_grey_images_grey_and_zero_hue_is_identity():
    cfg = AugmentConfig(brightness=0.0, contrast=0.0, saturation=0.5, hue=0.3, jitter_prob=1.0)
    grey = torch.rand(4, 1, 6, 6).expand(4, 3, 6, 6).contiguous()
    torch.testing.assert_close(ImageViews(cfg, 6, 6).jitter(grey), grey, atol=1e-5, rtol=0)
    colour = torch.rand(4, 3, 6, 6) * 0.2 + 0.4  # away from the clamp
    still = AugmentConfig(brightness=0.0, contrast=0.0, saturation=0.0, hue=1e-9, jitter_prob=1.0)
    torch.testing.assert_close(ImageViews(still, 6, 6).jitter(colour), colour, atol=1e-5, rtol=0)
    views = ImageViews(cfg, 6, 6).jitter(colour)
    luma = torch.tensor(GREY)
    # saturation and a chroma rotation keep each pixel's luma (YIQ's Y)
    torch.testing.assert_close(
        torch.einsum("c,bchw->bhw", luma, views), torch.einsum("c,bchw->bhw", luma, colour), atol=1e-4, rtol=0
    )
    assert (views - colour).abs().max() > 0.02


def test_blur_matches_a_per_image_correlation():
    cfg = AugmentConfig(blur_prob=0.5)
    x = torch.rand(6, 2, 9, 9)
    torch.manual_seed(5)
    out = ImageViews(cfg, 9, 9).blur(x).numpy()
    sigma_u, on = draws(5, 2, 6)
    for i in range(6):
        for ch in range(2):
            if on[i] < 0.5:
                sigma = 0.1 + float(sigma_u[i]) * 1.9
                k = np.exp(-(np.arange(-1, 2) ** 2) / (2 * sigma**2))
                k /= k.sum()
                want = ndimage.correlate(x[i, ch].numpy(), np.outer(k, k), mode="mirror")
            else:
                want = x[i, ch].numpy()
            np.testing.assert_allclose(out[i, ch], want, atol=1e-5)


def test_views_are_seeded_in_range_and_differ():
    views = ImageViews(AugmentConfig(grayscale_prob=1.0), 16, 16)
    x = torch.rand(32, 3, 16, 16)
    torch.manual_seed(0)
    a = views(x)
    torch.manual_seed(0)
    assert torch.equal(a, views(x))
    b = views(x)
    assert not torch.equal(a, b) and a.shape == x.shape
    assert a.min() >= 0 and a.max() <= 1
    assert torch.allclose(a[:, 0], a[:, 1]) and torch.allclose(a[:, 1], a[:, 2])  # every view greyscale


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_any_channel_count(channels):
    x = torch.rand(8, channels, 12, 12)
    assert ImageViews(AugmentConfig(), 12, 12)(x).shape == x.shape
