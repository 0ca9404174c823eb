"""The data sources of point clouds.

- "points": an .npz / .npy array `points` [N, P, 3 + F] (x, y, z, then F features per
  point), with optional `labels`, `classes` and a `test_points` / `test_labels` pair or a
  `split` array (data.arrays names them otherwise). Held as [3 + F, P].
- "volume-points": clouds sampled on the surface of occupancy grids (an archive the
  "volumes" source reads: `volumes` [N, D, H, W], e.g. ModelNet10's voxels): 1,024 points
  a shape, drawn with replacement from the occupied cells with an empty 6-neighbour, each
  jittered uniformly inside its cell, then centred and scaled into the unit sphere. The
  draw is seeded by the row, so a shape gives the same cloud every time it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.arrays import FloatValues, MappedArray
from maskfuse.data.base import ArrayDataset, Splits
from maskfuse.data.npz import archive_splits
from maskfuse.data.npz_layout import SOURCES
from maskfuse.errors import DataError
from maskfuse.modalities.volume.source import check as check_volumes
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec

SURFACE_POINTS = 1024


def check(arr: MappedArray | np.ndarray, path: Path, key: str) -> tuple[int, ...]:
    """The [3 + F, P] one row of `arr` reads as; anything but [N, P, 3 + F] numbers is an
    error naming the array."""
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise DataError(f"{path}: '{key}' must be points [N, P, 3] or [N, P, 3 + features], got shape "
                        f"{list(arr.shape)}")  # fmt: skip
    if np.dtype(arr.dtype).kind not in "if":
        raise DataError(f"{path}: '{key}' has dtype {arr.dtype}; expected float coordinates")
    if not len(arr) or arr.shape[1] < 1:
        raise DataError(f"{path}: '{key}' holds no points")
    return int(arr.shape[2]), int(arr.shape[1])


def channels_first(values: np.ndarray) -> np.ndarray:
    """[n, P, C] -> [n, C, P]."""
    return np.ascontiguousarray(values.transpose(0, 2, 1))


SOURCES["points"] = "points"  # `--data x.npz` holding a 'points' array reads here


@DATASETS.register("points")
def load(cfg: DataConfig) -> Splits:
    """Point clouds with optional labels and split; a NaN coordinate is an error naming its row."""
    return archive_splits(cfg, "points", "points", check, channels_first)


def surface_points(grid: np.ndarray, seed: int, count: int = SURFACE_POINTS) -> np.ndarray:
    """[3, count] points on the surface of one occupancy grid [D, H, W], in the unit sphere."""
    full = grid > 0
    padded = np.pad(full, 1)
    inner = np.ones_like(full)
    for axis in range(3):
        for step in (-1, 1):
            inner &= np.roll(padded, step, axis)[1:-1, 1:-1, 1:-1]
    cells = np.argwhere(full & ~inner).astype(np.float32)  # occupied, with an empty 6-neighbour
    rng = np.random.default_rng(seed)
    if not len(cells):
        return np.zeros((3, count), np.float32)
    points = cells[rng.integers(0, len(cells), size=count)] + rng.uniform(0, 1, size=(count, 3))
    points -= points.mean(0)
    points /= max(float(np.linalg.norm(points, axis=1).max()), 1e-6)
    return points.T.astype(np.float32)


@dataclass
class SurfaceValues:
    """Stored occupancy rows -> [n, 3, 1024] surface clouds (a `FloatValues` check first)."""

    path: Path
    key: str

    def __call__(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        grids = FloatValues(self.path, self.key)(values, rows)
        grids = grids[:, 0] if grids.ndim == 5 else grids
        return np.stack([surface_points(g, int(r)) for g, r in zip(grids, rows)])


def check_surface(arr: MappedArray | np.ndarray, path: Path, key: str) -> tuple[int, ...]:
    if check_volumes(arr, path, key)[0] != 1:
        raise DataError(f"{path}: '{key}' must hold single-channel occupancy grids to sample surface points from")
    return 3, SURFACE_POINTS


@DATASETS.register("volume-points")
def load_surfaces(cfg: DataConfig) -> Splits:
    """Surface point clouds of occupancy grids (a "volumes" archive); empty grids give clouds
    of zeros (ModelNet10 has 8: its README says which)."""
    return archive_splits(cfg, "volumes", "points", check_surface, converter=SurfaceValues)


def contract_example() -> tuple[Splits, list[str]]:
    """Small synthetic clouds for the contract tests: 48 clouds of 64 points on a sphere, a
    cube's faces or a line (3 classes), and settings that keep them cheap (8 groups of 8)."""
    rng = np.random.default_rng(0)
    clouds = np.zeros((48, 3, 64), np.float32)
    for i in range(48):
        v = rng.normal(size=(64, 3))
        shape = [v / np.linalg.norm(v, axis=1, keepdims=True), np.clip(v, -1, 1), v * [1, 0.05, 0.05]][i % 3]
        clouds[i] = shape.T
    x, labels = torch.as_tensor(clouds), torch.as_tensor(np.arange(48) % 3)
    spec = DataSpec("points", (3, 64), (0.0,) * 3, tuple(float(s) for s in x.std(dim=(0, 2))), 3,
                    ("sphere", "cube", "line"))  # fmt: skip
    train, test = ArrayDataset(x[:32], labels[:32], "points"), ArrayDataset(x[32:], labels[32:], "points")
    return Splits(train, test, spec, "synthetic clouds"), ["points.groups=8", "points.group_size=8"]
