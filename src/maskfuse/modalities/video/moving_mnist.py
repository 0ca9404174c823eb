"""The data source "moving-mnist": Moving MNIST clips (Srivastava et al., ICML 2015) made
from the MNIST digits in IDX files (data.path: the folder holding
t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, e.g. ../shared/data/mnist-test).

One digit per clip bounces in a 64 x 64 square for 10 frames (the standard frame, half its
20 frames to suit a CPU), from a start
and a velocity drawn from the digit's index (so the clips are the same on every run); the
clip's label is its digit. The first half of the digits make the training clips and the
second half the test clips, so no digit appears in both. Clips are held as uint8 and
converted batch by batch.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, source_path
from maskfuse.data.npz import array_splits
from maskfuse.data.npz_layout import Layout, Part
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
FRAMES, SIZE = 10, 64


def read_idx(path: Path, dims: int) -> np.ndarray:
    """An IDX file (gzip or plain) of unsigned bytes with `dims` axes, as uint8."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable IDX file ({err})") from err
    if len(data) < 4 + 4 * dims or data[:3] != b"\x00\x00\x08" or data[3] != dims:
        raise DataError(f"{path}: not an IDX file of {dims}-axis unsigned bytes (bad magic number)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path}: the header says {list(shape)} but the file holds {body.size} values")
    return body.reshape(shape)


def bounce(n: int, frames: int, room: int, seed: int) -> np.ndarray:
    """Top-left corners [n, frames, 2] of digits moving at 2-4 pixels a frame in a random
    direction, reflected at the walls of a [0, room] range."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, room, size=(n, 2))
    angle = rng.uniform(0, 2 * np.pi, size=n)
    speed = rng.uniform(2, 4, size=n)
    step = np.stack([np.sin(angle), np.cos(angle)], 1) * speed[:, None]
    raw = start[:, None] + step[:, None] * np.arange(frames)[None, :, None]
    folded = np.mod(raw, 2 * room)  # reflect: go back once past the far wall
    return np.round(np.where(folded > room, 2 * room - folded, folded)).astype(np.int64)


def render(digits: np.ndarray, corners: np.ndarray, size: int) -> np.ndarray:
    """Clips [n, frames, size, size] uint8 with each digit pasted at its corners."""
    n, frames, _ = corners.shape
    clips = np.zeros((n, frames, size, size), np.uint8)
    for i in range(n):
        for t, (r, c) in enumerate(corners[i]):
            clips[i, t, r : r + 28, c : c + 28] = digits[i]
    return clips


@DATASETS.register("moving-mnist")
def load(cfg: DataConfig, frames: int = FRAMES, size: int = SIZE) -> Splits:
    """Moving MNIST clips: training clips from the first half of the digits, test clips from
    the second (data.max_train / max_test cap them)."""
    folder = source_path(cfg.path, f"folder holding {IMAGES} and {LABELS}", "moving-mnist", folder=True)
    images, labels = read_idx(folder / IMAGES, 3), read_idx(folder / LABELS, 1)
    if images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataError(f"{folder}: expected 28 x 28 digits with one label each, got {list(images.shape)} images "
                        f"and {len(labels)} labels")  # fmt: skip
    half = len(images) // 2
    z, parts = {}, {}
    for name, rows, seed in (("train", slice(0, half), 0), ("test", slice(half, None), 1)):
        digits = images[rows]
        z[name] = render(digits, bounce(len(digits), frames, size - 28, seed), size)
        parts[name] = Part(name, np.arange(len(digits)), labels[rows].astype(np.int64))
    plan = Layout("clips", parts["train"], parts["test"], tuple(str(d) for d in range(10)))
    source = f"moving-mnist ({folder}: {half} training clips from digits 0-{half - 1})"
    return array_splits(z, plan, (1, frames, size, size), "video", cfg.memory_mb, folder, source, [], add_channel)


def add_channel(values: np.ndarray) -> np.ndarray:
    """[n, T, H, W] -> [n, 1, T, H, W]."""
    return values[:, None]
