"""The config section `volume` (read by `config.py` without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from maskfuse.config_ranges import AT_LEAST_1, Range


@dataclass
class Settings:
    patch_size: int | None = None  # side of the cubic 3-D patch; None: the smallest dividing every side
    # that leaves at most 216 tokens (30^3 -> 5, 6^3 tokens; 64^3 -> 16)
    norm_pix: bool = True  # per-patch normalised targets (MAE); False = raw values
    up_axis: int = 0  # views: the axis (0: depth, 1: height, 2: width) that rotations turn about
    rotate: Literal["none", "quarter", "any"] = "none"  # views: rotation about up_axis by none, a multiple
    # of 90 degrees, or any angle (for shapes whose class does not depend on their heading)
    flip: bool = True  # views: mirror across a plane that holds the up axis


RANGES = {"patch_size": AT_LEAST_1, "up_axis": Range(0, 2)}
