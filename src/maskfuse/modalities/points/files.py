"""The data source "point-folder": a folder of meshes and point files, read with trimesh.

Every `.ply`, `.off`, `.obj`, `.stl` or `.xyz` file under data.path is one cloud of
`points.count` points (x, y, z; colours and normals are not read): a mesh is sampled on its
surface, area-weighted; a point file (or a mesh without faces) gives its own points, a
random `points.count` of them, drawn with replacement when it holds fewer. Both draws are
seeded by the file's row, so a file gives the same cloud every time it is read. With
`points.unit_sphere` (the default, as ModelNet and ShapeNet are read) each cloud is centred
and scaled into the unit sphere. Class sub-folders give labels; a flat folder is
unlabelled; the split is data.test_fraction with data.split_seed.

Why trimesh: one pure-Python reader for the mesh and point formats above (numpy inside,
small), with area-weighted surface sampling built in; Open3D would bring a large native
wheel for the same reading.

A file trimesh cannot read, one with no points, or one holding NaN is a DataError naming
it; small folders are read whole before training (`data.memory_mb`), so such a file stops
the run before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskfuse.config import Config, DataConfig
from maskfuse.data.base import FOLDER_SOURCES, Splits, source_path
from maskfuse.data.file_stack import FileStack, folder_layout, labelled_files
from maskfuse.data.npz import array_splits
from maskfuse.errors import DataError
from maskfuse.modalities.points.settings import Settings
from maskfuse.registry import DATASETS

SUFFIXES = (".ply", ".off", ".obj", ".stl", ".xyz")


def trimesh():
    try:
        import trimesh
    except ImportError as err:
        raise DataError("data.name=point-folder reads meshes with trimesh: pip install 'maskfuse[points]'") from err
    return trimesh


def read_cloud(path: Path, count: int, seed: int, unit_sphere: bool) -> np.ndarray:
    """[3, count] points of one file."""
    tm = trimesh()
    try:
        found = tm.load(str(path))
        if isinstance(found, tm.Scene):  # a file of several parts: one cloud of them all
            found = tm.util.concatenate(list(found.geometry.values())) if found.geometry else None
    except Exception as err:  # trimesh raises many types for a damaged or unsupported file
        raise DataError(f"{path}: not a readable mesh or point file ({type(err).__name__}: {err})") from err
    faces = getattr(found, "faces", None)
    if faces is not None and len(faces) and found.area > 0:
        points = np.asarray(tm.sample.sample_surface(found, count, seed=seed)[0], np.float64)
    else:
        vertices = np.asarray(getattr(found, "vertices", np.empty((0, 3))), np.float64)
        if not len(vertices):
            raise DataError(f"{path}: holds no points")
        rng = np.random.default_rng(seed)
        points = vertices[rng.choice(len(vertices), count, replace=len(vertices) < count)]
    if not np.isfinite(points).all():
        raise DataError(f"{path}: holds NaN or infinite coordinates")
    if unit_sphere:
        points = points - points.mean(0)
        points /= max(float(np.linalg.norm(points, axis=1).max()), 1e-12)
    return points.T.astype(np.float32)


@dataclass
class CloudReader:
    """One file's cloud by its row: the seed of its draw (a picklable `FileStack.read`)."""

    settings: Settings

    def __call__(self, path: Path, row: int) -> np.ndarray:
        return read_cloud(path, self.settings.count, row, self.settings.unit_sphere)


def load(cfg: DataConfig, run: Config) -> Splits:
    """Every mesh or point file under data.path, labelled by class sub-folder when there are any."""
    folder = source_path(cfg.path, "folder of meshes or point files", "point-folder", folder=True)
    paths, y, classes = labelled_files(folder, SUFFIXES, "mesh or point files")
    plan = folder_layout("points", len(paths), y, classes, cfg, str(folder))
    stack = FileStack(paths, (3, run.points.count), CloudReader(run.points))
    source = f"point-folder ({folder}: {len(paths)} files)"
    return array_splits({"points": stack}, plan, stack.sample, "points", cfg.memory_mb, folder, source, [])


load.reads_run = True  # load_data hands this source the run's config, for its point settings
DATASETS.register("point-folder")(load)
FOLDER_SOURCES.update(dict.fromkeys(SUFFIXES, "point-folder"))  # `--data FOLDER` of meshes reads here
