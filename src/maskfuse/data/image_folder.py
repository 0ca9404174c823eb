"""A folder of PNG / JPEG files: class sub-folders give labels, a flat folder is unlabeled."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, fixed_split, image_splits, source_path
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

SUFFIXES = {".png", ".jpg", ".jpeg"}
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def _files(folder: Path) -> tuple[list[Path], list[int] | None, tuple[str, ...]]:
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        files, labels = [], []
        for label, sub in enumerate(subdirs):
            found = sorted(p for p in sub.rglob("*") if p.suffix.lower() in SUFFIXES)
            files += found
            labels += [label] * len(found)
        return files, labels, tuple(p.name for p in subdirs)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES), None, ()


def image_mode(paths: list[Path | BinaryIO], channels: int | None, where: str | None = None) -> str:
    """The PIL mode every image is converted to: from data.channels, else the commonest
    among the first 64 (files, or encoded bytes: errors then name `where` and the row)."""
    if channels is not None:
        if channels not in MODES:
            raise DataError(f"data.channels={channels}: image folders hold 1, 3 or 4 channels")
        return MODES[channels]
    counts: Counter[str] = Counter()
    for i, path in enumerate(paths[:64]):
        with _open(path, f"{where}, row {i}" if where else None) as im:
            counts["RGBA" if "A" in im.getbands() else "L" if im.mode in ("L", "1", "I", "F") else "RGB"] += 1
    return counts.most_common(1)[0][0]


def _open(path: Path | BinaryIO, where: object = None) -> Image.Image:
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"{where or path}: cannot read image ({err})") from err


def read_image(path: Path | BinaryIO, mode: str, size: int | None, where: str | None = None) -> np.ndarray:
    """One image (a file, or encoded bytes named `where`) as float32 [C, H, W] in [0, 1];
    a clear error names a corrupt file."""
    where = where or path
    try:
        with _open(path, where) as im:
            im = im.convert(mode)
            if size is not None and im.size != (size, size):
                im = im.resize((size, size), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{where}: cannot read image ({err})") from err
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


@DATASETS.register("image-folder")
def load(cfg: DataConfig) -> Splits:
    """Read every image under data.path; resize to data.image_size when images differ in size."""
    folder = source_path(cfg.path, "image folder", "image-folder", folder=True)
    paths, labels, classes = _files(folder)
    if not paths:
        raise DataError(f"{folder}: no .png, .jpg or .jpeg files found (class sub-folders or a flat folder)")
    mode = image_mode(paths, cfg.channels)
    images = [read_image(paths[0], mode, cfg.image_size)]
    for path in paths[1:]:
        image = read_image(path, mode, cfg.image_size)
        if image.shape != images[0].shape:
            raise DataError(
                f"{path}: size {image.shape[1]}x{image.shape[2]} differs from {paths[0].name} "
                f"({images[0].shape[1]}x{images[0].shape[2]}); set data.image_size to resize all images"
            )
        images.append(image)
    x = np.stack(images)
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    tr_x, tr_y, te_x, te_y = fixed_split(x, y, cfg.test_fraction, cfg.split_seed)
    return image_splits(tr_x, tr_y, te_x, te_y, f"image-folder ({folder})", classes)
