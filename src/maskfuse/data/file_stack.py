"""A folder of files read one at a time as if it were an array: the common part of the
video, point-cloud and NIfTI folder sources.

`labelled_files` lists a folder (class sub-folders give labels), `folder_layout` splits it,
and `FileStack` indexes the files like an array [N, *sample] for `npz.array_splits`, so
a folder gets the archive sources' reading: held decoded when it fits data.memory_mb,
else read batch by batch, with per-channel statistics. Each modality gives only how to
read one file (`read(path, row) -> sample`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskfuse.config import DataConfig
from maskfuse.data.base import split_indices
from maskfuse.data.npz_layout import Layout, Part
from maskfuse.errors import DataError


def labelled_files(folder: Path, suffixes: tuple[str, ...], what: str) -> tuple[list[Path], np.ndarray | None, tuple]:
    """(paths, labels, class names) of every file under `folder` whose name ends with one of
    `suffixes` (any case, any depth, sorted); labels come from class sub-folders, none when
    the folder is flat. No such file is a DataError naming the folder and `what` it wanted."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(suffixes))
    if not paths:
        raise DataError(f"{folder}: holds no {what} ({', '.join(suffixes)})")
    return paths, *class_labels(paths, folder)


def class_labels(paths: list[Path], folder: Path) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Each file's class (its sub-folder under `folder`) and the sorted class names."""
    names = [p.parent.relative_to(folder).as_posix() for p in paths]
    classes = sorted(set(names) - {"."})
    return (np.asarray([classes.index(n) for n in names]) if classes else None), tuple(classes)


def folder_layout(
    key: str, n: int, y: np.ndarray | None, classes: tuple[str, ...], cfg: DataConfig, where: str
) -> Layout:
    """A seeded split of `n` files (data.test_fraction, data.split_seed, stratified by class),
    each split's order shuffled once by data.split_seed: files come sorted by class, and
    data.max_train takes the first rows."""
    rows = split_indices(n, y, cfg.test_fraction, cfg.split_seed, where)
    rng = np.random.default_rng(cfg.split_seed)
    train, test = (rng.permutation(r) for r in rows)
    return Layout(key, Part(key, train, y), Part(key, test, y), classes)


@dataclass
class FileStack:
    """Files indexed like an array of shape [N, *sample] in `dtype`: row r is `read(paths[r], r)`.
    `read` is a module-level function or a dataclass, so DataLoader workers can pickle it."""

    paths: list[Path]
    sample: tuple[int, ...]
    read: Callable[[Path, int], np.ndarray]
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), *self.sample)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.paths)

    def origin(self, rows: np.ndarray) -> list[str]:
        """The file of each row (where `maskfuse embed` says an embedding came from)."""
        return [str(self.paths[r]) for r in rows.tolist()]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.atleast_1d(rows)
        out = np.empty((len(rows), *self.sample), self.dtype)
        for k, r in enumerate(rows.tolist()):
            out[k] = self.read(self.paths[r], r)
        return out
