"""A folder of PNG / JPEG files: class sub-folders give labels, a flat folder is unlabeled.

Images are decoded on demand (`data/ondemand.py`); a folder whose decoded size fits in
data.memory_mb is read once and held.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, source_path, split_indices
from maskfuse.data.ondemand import Decoder, file_splits, readable_files
from maskfuse.data.readers import IMAGE_SUFFIXES, image_format
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec

SPLIT_NAMES = {"train": "train", "test": "test", "val": "test", "valid": "test", "validation": "test"}


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


def split_folders(folder: Path) -> dict[str, Path] | None:
    """{"train": ..., "test": ...} when `folder` holds a train/ folder beside a test/ (or
    val/, valid/, validation/) folder, the commonest layout of a labelled image set;
    else None."""
    subdirs = {p.name.lower(): p for p in folder.iterdir() if p.is_dir()}
    found = {SPLIT_NAMES[name]: path for name, path in sorted(subdirs.items()) if name in SPLIT_NAMES}
    return found if set(found) == {"train", "test"} else None


def _split_files(folders: dict[str, Path]) -> tuple[dict[str, tuple[list[Path], list[int] | None]], tuple[str, ...]]:
    """The files of each split folder, labelled by the union of their class sub-folders."""
    classes = sorted({p.name for f in folders.values() for p in f.iterdir() if p.is_dir() and p.name[0] != "."})
    out = {}
    for name in ("train", "test"):
        found, found_labels, names = _files(folders[name])
        if classes and not names:
            raise DataError(f"{folders[name]}: holds no class sub-folders, but the other split does")
        out[name] = (found, [classes.index(names[i]) for i in found_labels] if names else None)
    return out, tuple(classes)


def _listed(cfg: DataConfig, folder: Path, source: str) -> tuple[list[Path], list | None, tuple, tuple | None, list]:
    """(paths, labels, class names, given (train, test) rows or None, notes): unreadable
    files dropped with data.on_error=skip, split by split."""
    skip = cfg.on_error == "skip"
    folders = split_folders(folder)
    if folders is None:
        paths, labels, classes = _files(folder)
        if not paths:
            raise DataError(f"{folder}: no .png, .jpg or .jpeg files found (class sub-folders or a flat folder)")
        paths, labels, notes = readable_files(paths, labels, "image", skip, source)
        return paths, labels, classes, None, notes
    per_split, classes = _split_files(folders)
    names = f"{folders['train'].name}/ and {folders['test'].name}/"
    notes = [f"{names} read as the train and test splits, {len(classes)} classes from their sub-folders"]
    paths, labels, rows = [], [], []
    for name, (found, found_labels) in per_split.items():
        if not found:
            raise DataError(f"{folders[name]}: no .png, .jpg or .jpeg files found")
        found, found_labels, dropped = readable_files(found, found_labels, "image", skip, f"{source}, {name}")
        notes += dropped
        rows.append(np.arange(len(paths), len(paths) + len(found)))
        paths += found
        labels += found_labels or []
    return paths, labels if classes else None, classes, tuple(rows), notes


@DATASETS.register("image-folder")
def load(cfg: DataConfig) -> Splits:
    """Every image under data.path: class sub-folders give labels, and train/ beside test/
    (or val/) folders give the splits. Images of another size than the chosen one are resized."""
    folder = source_path(cfg.path, "image folder", "image-folder", folder=True)
    source = f"image-folder ({folder})"
    paths, labels, classes, given, notes = _listed(cfg, folder, source)
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    rows = given if given is not None else split_indices(len(paths), y, cfg.test_fraction, cfg.split_seed, source)
    mode, size, size_notes = image_format([paths[i] for i in rows[0]], cfg.channels, cfg.image_size)
    decode = Decoder("image", mode=mode, size=size)
    train, test, mean, std = file_splits(paths, y, rows, decode, cfg)
    spec = DataSpec("image", decode.shape, mean, std, len(classes) or None, classes)
    return Splits(train, test, spec, source, notes + size_notes)
