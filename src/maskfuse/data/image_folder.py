"""A folder of PNG / JPEG files: class sub-folders give labels, a flat folder is unlabeled.

Images are decoded on demand (`data/ondemand.py`); a folder whose decoded size fits in
data.memory_mb is read once and held.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.base import DataSpec, Splits, source_path, split_indices
from maskfuse.data.ondemand import Decoder, file_splits, readable_files
from maskfuse.data.readers import IMAGE_SUFFIXES, image_mode
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


def _files(folder: Path) -> tuple[list[Path], list[int] | None, tuple[str, ...]]:
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        files, labels = [], []
        for label, sub in enumerate(subdirs):
            found = sorted(p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            files += found
            labels += [label] * len(found)
        return files, labels, tuple(p.name for p in subdirs)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), None, ()


@DATASETS.register("image-folder")
def load(cfg: DataConfig) -> Splits:
    """Every image under data.path; resized to data.image_size when images differ in size."""
    folder = source_path(cfg.path, "image folder", "image-folder", folder=True)
    source = f"image-folder ({folder})"
    paths, labels, classes = _files(folder)
    if not paths:
        raise DataError(f"{folder}: no .png, .jpg or .jpeg files found (class sub-folders or a flat folder)")
    paths, labels, notes = readable_files(paths, labels, "image", cfg.on_error == "skip", source)
    decode = Decoder("image", mode=image_mode(paths, cfg.channels), size=cfg.image_size)
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    rows = split_indices(len(paths), y, cfg.test_fraction, cfg.split_seed)
    train, test, mean, std = file_splits(paths, y, rows, decode, cfg)
    num_classes = len(classes) or None
    spec = DataSpec("image", decode.shape, mean, std, num_classes, classes)
    return Splits(train, test, spec, source, notes)
