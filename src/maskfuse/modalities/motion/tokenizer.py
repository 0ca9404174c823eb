"""The motion tokenizer: each sequence resampled to motion.frames frames, then tokens of
patch_frames frames x group_joints joints (HumanMAC-style masked motion), with sin-cos
positions over (time, joint group); the report draws the joints seen from the front."""

from __future__ import annotations

import torch
from torch import nn

from maskfuse.config import Config, ReconstructionConfig
from maskfuse.errors import ConfigError
from maskfuse.modalities.motion.source import contract_example
from maskfuse.nn.grid_tokens import GridTokenizer, sheet
from maskfuse.nn.targets import PatchTarget
from maskfuse.registry import MODALITIES
from maskfuse.types import DataSpec, Tokens


def resample(x: torch.Tensor, frames: int) -> torch.Tensor:
    """[B, C, T, J] sequences padded at the end with NaN -> [B, C, frames, J], each stretched
    linearly over its own observed frames (a one-frame sequence repeats that frame)."""
    b, c, t, j = x.shape
    length = (~torch.isnan(x[:, 0, :, 0])).sum(1).clamp_min(1).to(x.dtype)  # [B]
    where = torch.linspace(0, 1, frames, dtype=x.dtype)[None] * (length[:, None] - 1)  # [B, frames]
    left = where.floor().long()
    right = (left + 1).minimum(length.long()[:, None] - 1)
    w = (where - left).view(b, 1, frames, 1)
    values = x.nan_to_num(0.0)

    def take(idx: torch.Tensor) -> torch.Tensor:
        return values.gather(2, idx.view(b, 1, frames, 1).expand(b, c, frames, j))

    return take(left) * (1 - w) + take(right) * w


def front_view(motion: torch.Tensor, up: int = 1, panels: int = 4, side: int = 32) -> torch.Tensor:
    """[B, 3, F, J] -> images [B, 1, ...]: `panels` frames spread over the sequence on one
    sheet (`sheet`), each its joints as dots on the plane of the first horizontal axis and
    `up`, scaled to the sequence's extent (the whole figure stays in view)."""
    b, _, f, j = motion.shape
    across = 0 if up != 0 else 2
    pts = motion[:, [across, up]]  # [B, 2, F, J]
    lo = pts.amin(dim=(2, 3), keepdim=True)
    span = (pts.amax(dim=(2, 3), keepdim=True) - lo).amax(dim=1, keepdim=True).clamp_min(1e-6)
    cells = ((pts - lo) / span * (side - 1)).round().long().clamp(0, side - 1)
    shown = []
    for frame in torch.linspace(0, f - 1, panels).round().long().tolist():
        col, row = cells[:, 0, frame], side - 1 - cells[:, 1, frame]  # [B, J]; up is up in the picture
        image = torch.zeros(b, 1, side, side)
        image[torch.arange(b)[:, None].expand(b, j), 0, row, col] = 1.0
        shown.append(image)
    return sheet(shown)


class MotionTokenizer(nn.Module):
    """Resample, then `GridTokenizer` over the (frames, joints) grid with x, y, z as channels."""

    def __init__(self, spec: DataSpec, frames: int, patch_frames: int, group: int, dim: int, norm_pix: bool,
                 up: int) -> None:  # fmt: skip
        super().__init__()
        channels, _, joints = spec.shape
        if frames % patch_frames or joints % group:
            raise ConfigError(f"motion: patch_frames={patch_frames} must divide frames={frames} and "
                              f"group_joints={group} the {joints} joints")  # fmt: skip
        self.frames, self.up = frames, up
        self.tokens = GridTokenizer(channels, (frames, joints), (patch_frames, group), dim, norm_pix, spec.mean,
                                    spec.std, what="motion", draw=self.draw)  # fmt: skip
        self.grid, self.patch_dim = self.tokens.grid, self.tokens.patch_dim

    @property
    def coords(self) -> torch.Tensor:
        return self.tokens.coords

    def draw(self, motion: torch.Tensor) -> torch.Tensor:
        return front_view(motion, self.up)

    def forward(self, x: torch.Tensor) -> Tokens:
        return self.tokens(resample(x, self.frames))

    def target_head(self, in_dim: int, cfg: ReconstructionConfig) -> PatchTarget:
        return self.tokens.target_head(in_dim, cfg)

    def decode(self, target: torch.Tensor, tokens: Tokens | None = None) -> torch.Tensor:
        """Targets back to resampled sequences [B, 3, frames, J]."""
        return self.tokens.decode(target, tokens)

    def mask_input(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.tokens.mask_input(resample(x, self.frames), mask, fill=0.0)

    def pictures(self, x: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tokens: Tokens) -> dict:
        return self.tokens.pictures(resample(x, self.frames), mask, pred, tokens)

    def show(self, x: torch.Tensor) -> torch.Tensor:
        """Raw sequences (views, masked inputs) as the report's images."""
        return self.draw(resample(x, self.frames))

    def raw_features(self, x: torch.Tensor) -> torch.Tensor:
        """The resampled, centred coordinates flattened: the no-learning baseline."""
        return resample(x, self.frames).reshape(len(x), -1)


@MODALITIES.register("motion")
def build_motion_tokenizer(cfg: Config, spec: DataSpec, dim: int) -> MotionTokenizer:
    m = cfg.motion
    return MotionTokenizer(spec, m.frames, m.patch_frames, m.group_joints, dim, m.norm_pix, m.up_axis)


build_motion_tokenizer.contract_example = contract_example  # the contract tests' data for this modality
