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
    time_crop: float = 0.5  # views: each view covers at least this share of the clip's frames,
    # resampled to the full count (1 = no time crop)


RANGES = {"tubelet": AT_LEAST_1, "patch_size": AT_LEAST_1, "time_crop": SHARE}
