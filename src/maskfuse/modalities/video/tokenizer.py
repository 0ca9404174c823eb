"""The video tokenizer: tubelets of t frames x p x p pixels with sin-cos positions over
(time, row, column) (VideoMAE), and the report's picture of a clip: its frames in a row."""

from __future__ import annotations

import torch

from maskfuse.config import Config
from maskfuse.errors import ConfigError
from maskfuse.modalities.video.source import contract_example
from maskfuse.nn.grid_tokens import GridTokenizer, sheet, smallest_patch
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec

PATCHES_PER_FRAME = 16  # the automatic patch side leaves at most this many patches per frame


def frames(clips: torch.Tensor, most: int = 9) -> torch.Tensor:
    """[B, C, T, H, W] -> images [B, C, rows * H, across * W] in [0, 1]: up to `most` frames
    spread over the clip, in reading order on a near-square sheet, each clip scaled to its
    own range."""
    t = clips.shape[2]
    pick = torch.linspace(0, t - 1, min(most, t)).round().long().tolist()
    page = sheet([clips[:, :, i].float() for i in pick])
    lo = page.amin(dim=(1, 2, 3), keepdim=True)
    hi = page.amax(dim=(1, 2, 3), keepdim=True)
    return (page - lo) / (hi - lo).clamp_min(1e-6)


@MODALITIES.register("video")
def build_video_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> GridTokenizer:
    channels, t, h, w = spec.shape
    v = cfg.video
    if t % v.tubelet:
        raise ConfigError(f"video.tubelet={v.tubelet} must divide the clip's {t} frames")
    side = v.patch_size or smallest_patch((h, w), PATCHES_PER_FRAME)
    return GridTokenizer(channels, (t, h, w), (v.tubelet, side, side), dim, v.norm_pix, spec.mean, spec.std,
                         what="video", draw=frames)  # fmt: skip


build_video_tokenizer.contract_example = contract_example  # the contract tests' data for this modality
