"""The config section `points` (read by `config.py` without importing torch)."""

from __future__ import annotations

from dataclasses import dataclass

from maskfuse.config_ranges import AT_LEAST_1, Range


@dataclass
class Settings:
    groups: int = 64  # tokens per cloud: centres picked by farthest-point sampling (Point-MAE: 64)
    group_size: int = 32  # points per token: each centre's nearest neighbours (Point-MAE: 32)
    up_axis: int = 2  # the coordinate (0: x, 1: y, 2: z) that points up; views turn about it
    rotate: bool = True  # views: turn each cloud by a random angle about the up axis
    count: int = 1024  # point-folder: points read per file (a mesh's surface sampled, a point file's drawn)
    unit_sphere: bool = True  # point-folder: centre each cloud and scale it into the unit sphere


RANGES = {"groups": AT_LEAST_1, "group_size": AT_LEAST_1, "up_axis": Range(0, 2), "count": AT_LEAST_1}
