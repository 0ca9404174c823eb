"""Images of any size and channel count as a grid of patch tokens (ViT / MAE)."""

from __future__ import annotations

import math

import torch
from torch import nn

from maskfuse.config import Config, ReconstructionConfig
from maskfuse.errors import ConfigError
from maskfuse.nn.grid_tokens import denormalised, patch_tokens
from maskfuse.nn.pos import grid_coords, sincos
from maskfuse.nn.targets import PatchTarget
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec, Tokens


class ImageTokenizer(nn.Module):
    """Cut [B, C, H, W] images into p x p patches, embed them linearly, add sin-cos positions.

    Targets are the patch pixels in (row, col, channel) order; with `norm_pix` each
    patch is normalised by its own mean and std, as in MAE, and `decode` undoes it.
    """

    def __init__(
        self,
        channels: int,
        height: int,
        width: int,
        patch_size: int,
        dim: int,
        norm_pix: bool = True,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
    ) -> None:
        super().__init__()
        if patch_size < 1 or height % patch_size or width % patch_size:
            raise ConfigError(f"image.patch_size={patch_size} must divide the image size {height}x{width}")
        self.channels, self.height, self.width, self.patch = channels, height, width, patch_size
        self.grid = (height // patch_size, width // patch_size)
        self.norm_pix = norm_pix
        self.patch_dim = channels * patch_size * patch_size
        self.proj = nn.Linear(self.patch_dim, dim)
        nn.init.xavier_uniform_(self.proj.weight.view(dim, -1))
        nn.init.zeros_(self.proj.bias)
        # Input standardisation with the training split's channel statistics; saved with
        # the weights so `embed` standardises new data exactly as in training.
        self.register_buffer("in_mean", torch.tensor(mean or [0.0] * channels).view(1, channels, 1, 1))
        self.register_buffer("in_std", torch.tensor(std or [1.0] * channels).view(1, channels, 1, 1))
        coords = grid_coords(*self.grid)
        self.register_buffer("coords", coords, persistent=False)
        self.register_buffer("pos", sincos(coords, dim)[None], persistent=False)

    def stretch_positions(self, trained_grid: tuple[int, int]) -> None:
        """Give this grid the positions of the grid the weights were trained on, stretched over
        it (each axis's coordinates scaled to the trained extent: the sin-cos table is
        interpolated, not extended), so an encoder reads larger or smaller images."""
        scale = torch.tensor([(t - 1) / max(g - 1, 1) for t, g in zip(trained_grid, self.grid)])
        self.pos = sincos(self.coords.float() * scale, self.pos.shape[-1])[None].to(self.pos.dtype)

    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] -> [B, N, p*p*C]."""
        b, c, h, w = images.shape
        if (c, h, w) != (self.channels, self.height, self.width):
            raise ValueError(
                f"image tokenizer expects [B, {self.channels}, {self.height}, {self.width}], got {list(images.shape)}"
            )
        p, (gh, gw) = self.patch, self.grid
        x = images.reshape(b, c, gh, p, gw, p).permute(0, 2, 4, 3, 5, 1)  # [B, gh, gw, p, p, C]
        return x.reshape(b, gh * gw, p * p * c)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """[B, N, p*p*C] -> [B, C, H, W]."""
        b = patches.shape[0]
        p, (gh, gw), c = self.patch, self.grid, self.channels
        x = patches.reshape(b, gh, gw, p, p, c).permute(0, 5, 1, 3, 2, 4)  # [B, C, gh, p, gw, p]
        return x.reshape(b, c, gh * p, gw * p)

    def forward(self, images: torch.Tensor) -> Tokens:
        patches = self.patchify(images)  # checks the shape first
        embedded = self.proj(self.patchify((images - self.in_mean) / self.in_std))
        return patch_tokens(patches, embedded, self.pos, self.coords, self.grid, self.norm_pix)

    def target_head(self, in_dim: int, cfg: ReconstructionConfig) -> PatchTarget:
        """Masked-modeling head: a linear map to the patch targets, cfg.loss (MSE or L1)."""
        return PatchTarget(in_dim, self.patch_dim, cfg.loss)

    def decode(self, target: torch.Tensor, tokens: Tokens | None = None) -> torch.Tensor:
        """Per-token targets (or predictions of them) back to images [B, C, H, W].

        With normalised targets the patch statistics of `tokens` are put back, so a
        prediction is drawn at the brightness of the true patch (as MAE's figures do).
        """
        return self.unpatchify(denormalised(target, tokens, self.norm_pix))

    def mask_input(self, images: torch.Tensor, mask: torch.Tensor, fill: float = 0.5) -> torch.Tensor:
        """Images with the masked patches painted `fill`, for pictures: mask [B, N] bool."""
        patches = self.patchify(images)
        return self.unpatchify(patches.masked_fill(mask.unsqueeze(-1), fill))

    def raw_features(self, images: torch.Tensor) -> torch.Tensor:
        """The pixels flattened to [B, C*H*W]: the no-learning baseline."""
        return images.reshape(len(images), -1)

    def pictures(self, images: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> dict:
        """Input, masked input and reconstruction (predicted patches pasted among the
        visible ones), each [B, C, H, W], for the report."""
        recon = torch.where(mask.unsqueeze(-1), self.patchify(self.decode(pred, tokens)), self.patchify(images))
        return {
            "input": images,
            "masked input": self.mask_input(images, mask),
            "reconstruction": self.unpatchify(recon).clamp(0, 1),
        }


def auto_patch(height: int, width: int) -> int:
    """The patch side when image.patch_size is not set: the smallest that divides both
    sides and leaves at most max(16, H*W/256) tokens, i.e. a 4x4 grid for small images
    (8x8 digits: 2, 28x28: 7, 32x32: 8) and ViT's 16-pixel patches from 64x64 up (224: 196
    tokens). Fewer tokens make each step cheaper, which at a small budget buys more steps
    than finer patches buy accuracy (BENCHMARKS.md, patch size). Sides sharing no such
    divisor get their largest common divisor."""
    common = math.gcd(height, width)
    limit = max(16, height * width // 256)
    fits = [p for p in range(1, common + 1) if common % p == 0 and (height // p) * (width // p) <= limit]
    return fits[0] if fits else common


@MODALITIES.register("image")
def build_image_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> ImageTokenizer:
    channels, height, width = spec.shape
    patch = cfg.image.patch_size or auto_patch(height, width)
    return ImageTokenizer(channels, height, width, patch, dim, cfg.image.norm_pix, spec.mean, spec.std)
