"""The config section `audio` (read by `config.py` without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass

from maskfuse.config_ranges import AT_LEAST_1, POSITIVE


@dataclass
class Settings:
    n_mels: int = 32  # mel bands of the log-mel spectrogram
    window_ms: float = 25.0  # STFT window
    hop_ms: float = 10.0  # STFT hop
    patch_time: int = 4  # frames per token (Audio-MAE uses 16 x 16 on 128 mels)
    patch_freq: int = 8  # mel bands per token


RANGES = {"n_mels": AT_LEAST_1, "window_ms": POSITIVE, "hop_ms": POSITIVE, "patch_time": AT_LEAST_1,
          "patch_freq": AT_LEAST_1}  # fmt: skip
