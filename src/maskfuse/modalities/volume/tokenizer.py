"""The volume tokenizer: p x p x p patches with 3-D sin-cos positions (NeRF-MAE, Uni4Eye's 3-D
path), and the report's picture of a volume: its three orthogonal middle slices."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from maskfuse.config import Config
from maskfuse.modalities.volume.source import contract_example
from maskfuse.nn.grid_tokens import GridTokenizer, sheet, smallest_patch
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec

MAX_TOKENS = 216  # the automatic patch side leaves at most this many tokens (6 x 6 x 6)


def slices(volumes: torch.Tensor) -> torch.Tensor:
    """[B, C, D, H, W] -> images [B, 1, 2S, 2S] in [0, 1]: the middle slice across depth,
    height and width on one sheet (channels averaged, each sample scaled to its range,
    every slice resized to S = the largest side)."""
    x = volumes.float().mean(1)  # [B, D, H, W]
    d, h, w = x.shape[1:]
    side = max(d, h, w)
    cuts = [x[:, d // 2], x[:, :, h // 2], x[:, :, :, w // 2]]  # [B, H, W], [B, D, W], [B, D, H]
    row = sheet([F.interpolate(c[:, None], size=(side, side), mode="nearest") for c in cuts])
    lo = row.amin(dim=(1, 2, 3), keepdim=True)
    hi = row.amax(dim=(1, 2, 3), keepdim=True)
    return (row - lo) / (hi - lo).clamp_min(1e-6)


@MODALITIES.register("volume")
def build_volume_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> GridTokenizer:
    channels, *sizes = spec.shape
    side = cfg.volume.patch_size or smallest_patch(tuple(sizes), MAX_TOKENS)
    return GridTokenizer(channels, tuple(sizes), (side,) * 3, dim, cfg.volume.norm_pix, spec.mean, spec.std,
                         what="volume", draw=slices)  # fmt: skip


build_volume_tokenizer.contract_example = contract_example  # the contract tests' data for this modality
