"""In-memory datasets, their fixed splits, and the spec a model is built from."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from maskfuse.errors import DataError
from maskfuse.types import DataSpec


@dataclass
class ArrayDataset:
    """Samples of one modality held as one tensor, with optional integer labels."""

    inputs: torch.Tensor  # [N, ...] float32
    labels: torch.Tensor | None = None  # [N] int64
    modality: str = "image"
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # per-sample extras, e.g. mask_scores [N, T]
    in_memory: ClassVar[bool] = True  # False for data read on demand (files, shards, Hugging Face sets)

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def head(self, rows: int) -> ArrayDataset:
        """The first `rows` samples (all of them if there are fewer)."""
        labels = None if self.labels is None else self.labels[:rows]
        return ArrayDataset(self.inputs[:rows], labels, self.modality, {k: v[:rows] for k, v in self.extras.items()})

    def take(self, rows: np.ndarray) -> ArrayDataset:
        """The samples at positions `rows`, in that order."""
        i = torch.as_tensor(rows, dtype=torch.int64)
        labels = None if self.labels is None else self.labels[i]
        return ArrayDataset(self.inputs[i], labels, self.modality, {k: v[i] for k, v in self.extras.items()})

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {self.modality: self.inputs[index]}
        if self.labels is not None:
            out["label"] = self.labels[index]
        out.update({k: v[index] for k, v in self.extras.items()})
        return out


@dataclass
class Splits:
    """A training split, a held-out split and the spec of the data."""

    train: ArrayDataset
    test: ArrayDataset
    spec: DataSpec
    source: str = ""
    notes: list[str] = field(default_factory=list)


def image_splits(
    train_x: np.ndarray,
    train_y: np.ndarray | None,
    test_x: np.ndarray,
    test_y: np.ndarray | None,
    source: str,
    class_names: tuple[str, ...] = (),
) -> Splits:
    """Wrap [N, C, H, W] float arrays in [0, 1] as `Splits`, computing the spec."""
    if train_x.ndim != 4:
        raise DataError(f"{source}: expected images shaped [N, C, H, W], got {list(train_x.shape)}")
    if test_x.shape[1:] != train_x.shape[1:]:
        raise DataError(f"{source}: test images {list(test_x.shape[1:])} differ from train {list(train_x.shape[1:])}")
    mean, std = input_stats(torch.as_tensor(train_x, dtype=torch.float32), "image")
    num_classes = class_count(train_y, test_y)
    spec = DataSpec(
        modality="image",
        shape=tuple(int(s) for s in train_x.shape[1:]),
        mean=mean,
        std=std,
        num_classes=num_classes,
        class_names=class_names,
    )

    def wrap(xs: np.ndarray, ys: np.ndarray | None) -> ArrayDataset:
        y = None if ys is None else torch.as_tensor(ys, dtype=torch.int64)
        return ArrayDataset(torch.as_tensor(xs, dtype=torch.float32), y)

    return Splits(wrap(train_x, train_y), wrap(test_x, test_y), spec, source)


def class_count(*labels: np.ndarray | torch.Tensor | None) -> int | None:
    """Number of classes the given label arrays imply (largest id + 1), or None without labels."""
    given = [y for y in labels if y is not None and len(y)]
    return int(max(int(y.max()) for y in given) + 1) if given else None


def input_stats(x: torch.Tensor | np.ndarray, modality: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) the tokenizer standardises with: per channel for images [N, C, H, W];
    one over the observed (non-NaN, i.e. not padding) samples for audio clips [N, 1, S];
    per channel over the observed steps for series [N, C, T], std at least 1e-3."""
    if modality == "timeseries":
        a = np.asarray(x)
        mean = np.nanmean(a, axis=(0, 2))
        std = np.maximum(np.nanstd(a, axis=(0, 2)), 1e-3)
        return tuple(float(m) for m in mean), tuple(float(s) for s in std)
    if modality == "audio":
        a = x.numpy()
        seen = a[np.isfinite(a)]
        return (float(seen.mean()),), (float(seen.std()),)
    return tuple(x.mean(dim=(0, 2, 3)).tolist()), tuple(x.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist())


def source_path(path: str | None, what: str, source: str, folder: bool) -> Path:
    """`path` as an existing folder (or file), else a DataError saying what was expected."""
    if not path:
        raise DataError(f"data.path must name the {what} (data.name={source})")
    p = Path(path)
    if not (p.is_dir() if folder else p.is_file()):
        raise DataError(f"{p}: {what} does not exist")
    return p


def text_lines(path: Path) -> Iterator[tuple[int, bytes, str]]:
    """(1-based number, raw bytes, UTF-8 text) of each line of a text file; a line that is not
    UTF-8 is a DataError naming it."""
    try:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                try:
                    yield number, raw, raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise DataError(f"{path}, line {number}: not UTF-8 text ({err.reason})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err})") from err


def split_indices(
    n: int, y: np.ndarray | None, test_fraction: float, seed: int, source: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) row indices of a seeded split, stratified by label when every
    class has at least two rows."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"data.test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    if n < 2:
        where = f"{source}: " if source else ""
        raise DataError(f"{where}need at least 2 rows to split into train and test, got {n}")
    stratify = None
    if y is not None:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and round(n * test_fraction) >= len(counts):
            stratify = y
    tr, te = train_test_split(np.arange(n), test_size=test_fraction, random_state=seed, stratify=stratify)
    return np.sort(tr), np.sort(te)


FOLDER_SOURCES: dict[str, str] = {}  # file suffix -> the source of a folder holding such files
# (`--data FOLDER`); a modality folder's source adds its own, e.g. ".mp4": "video-folder"
TRAIN_MARKERS = frozenset({"train", "training"})
TEST_MARKERS = frozenset({"test", "testing", "val", "valid", "validation"})


def given_split(
    codes: np.ndarray, markers: list, column: str, where: Callable[[int], str]
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) rows from a column of split markers: `codes[i]` is row i's index into
    the distinct `markers` ("train", "test", "val", ... in any case). A marker that is
    neither is an error naming its first row (`where(row)`); `column` names the column."""
    words = [str(m).strip().lower() for m in markers]
    for k, word in enumerate(words):
        if word not in TRAIN_MARKERS | TEST_MARKERS:
            row = int(np.argmax(codes == k))
            raise DataError(f"{where(row)}: split marker '{markers[k]}'; expected train, test or val")
    test = np.asarray([w in TEST_MARKERS for w in words], dtype=bool)[codes]
    if test.all() or not test.any():
        raise DataError(f"{column}: the split column marks no {'training' if test.all() else 'test'} rows")
    return np.flatnonzero(~test), np.flatnonzero(test)


def fixed_split(
    x: np.ndarray, y: np.ndarray | None, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
    """`x` and `y` cut by `split_indices`."""
    tr, te = split_indices(len(x), y, test_fraction, seed)
    return x[tr], None if y is None else y[tr], x[te], None if y is None else y[te]


def spread_rows(labels: torch.Tensor | None, n: int, rows: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of `rows` of `n` samples that stand for the whole split: each class
    in proportion to its size (a seeded draw within the class), or a seeded draw without
    labels. Data is often sorted by class, where the first rows would hold one or two
    classes only.

    Each sample gets a key (its rank within its class in a seeded permutation, over the
    class size); the `rows` smallest keys take every class in turn, in proportion."""
    if rows >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    if labels is None:
        return np.sort(perm[:rows])
    y = np.asarray(labels)[perm]
    counts = np.bincount(y)
    order = np.argsort(y, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - (np.cumsum(counts) - counts)[y[order]]
    key = (rank + 0.5) / counts[y]
    return np.sort(perm[np.argsort(key, kind="stable")[:rows]])


def spread(ds, rows: int, seed: int = 0):
    """`rows` samples of `ds` spread over its classes (`spread_rows`), still on demand
    where `ds` is; a stream of shards gives its first rows, in memory (the shard writer
    shuffles each split, so they are a fair sample)."""
    if not hasattr(ds, "take"):  # a stream: no reading by position
        return ds.head(min(rows, len(ds)))
    if rows >= len(ds):
        return ds
    return ds.take(spread_rows(ds.labels, len(ds), rows, seed))


def resident(splits: Splits, train_rows: int, test_rows: int | None = None) -> Splits:
    """`splits` with both splits in memory: data read on demand (files, shards, Hugging
    Face sets) keeps `train_rows` training rows and `test_rows` test rows (all of them by
    default), spread over the classes."""
    train, test = splits.train, splits.test
    if train.in_memory and test.in_memory:
        return splits
    return replace(splits, train=_held(train, train_rows), test=_held(test, test_rows or len(test)))


def _held(ds, rows: int):
    """`rows` samples of `ds` spread over its classes, in memory."""
    if ds.in_memory:
        return ds
    some = spread(ds, rows)
    return some if some.in_memory else some.decoded()


def cap(splits: Splits, max_train: int | None, max_test: int | None) -> Splits:
    """Keep `max_train` / `max_test` rows of each split, spread over the classes."""
    for name, limit in (("train", max_train), ("test", max_test)):
        ds = getattr(splits, name)
        if limit is not None and limit < len(ds):
            setattr(splits, name, spread(ds, limit))
    return splits
