"""The config section `video` (read by `config.py` without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass

from maskfuse.config_ranges import AT_LEAST_1, SHARE


@dataclass
class Settings:
    tubelet: int = 2  # frames per token (VideoMAE: 2)
    patch_size: int | None = None  # pixels per token side; None: the smallest dividing both sides that
    # leaves at most 16 patches per frame (64 x 64 -> 16)
    norm_pix: bool = True  # per-tubelet normalised targets (VideoMAE); False = raw pixels
    frames: int = 16  # video-folder: frames taken from the middle of each clip (VideoMAE: 16)
    stride: int = 4  # video-folder: every stride-th frame (VideoMAE on Kinetics: 4)
    size: int = 64  # video-folder: frames resized (short side) and centre-cropped to size x size
    grey: bool = False  # video-folder: read frames as grey (1 channel) instead of RGB
    time_crop: float = 0.5  # views: each view covers at least this share of the clip's frames,
    # resampled to the full count (1 = no time crop)


RANGES = {key: AT_LEAST_1 for key in ("tubelet", "patch_size", "frames", "stride", "size")} | {"time_crop": SHARE}
