"""Fashion-MNIST from its IDX files (plain or gzipped), with its own 60k / 10k split."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, image_splits, source_path
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

DEFAULT_PATH = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (the MNIST container format) into a uint8 array."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot read IDX file ({err})") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims)) if dims else 0
    if len(raw) - header != expected:
        raise DataError(f"{path}: holds {len(raw) - header} bytes of data, header promises {expected} {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(
        f"{folder}: no {stem}[.gz]; point data.path at a folder with the four Fashion-MNIST IDX files "
        "(Debian: apt-get install dataset-fashion-mnist)"
    )


@DATASETS.register("fashion-mnist")
def load(cfg: DataConfig) -> Splits:
    """28x28 grey clothing images in ten classes; data.path defaults to Debian's copy."""
    folder = source_path(cfg.path or str(DEFAULT_PATH), "Fashion-MNIST folder", "fashion-mnist", folder=True)
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{folder}: {split} images {images.shape} and labels {labels.shape} do not match")
        limit = cfg.max_train if split == "train" else cfg.max_test
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        arrays[split] = ((images.astype(np.float32) / 255.0)[:, None], labels.astype(np.int64))
    (tr_x, tr_y), (te_x, te_y) = arrays["train"], arrays["test"]
    return image_splits(tr_x, tr_y, te_x, te_y, f"fashion-mnist ({folder})", CLASSES)
