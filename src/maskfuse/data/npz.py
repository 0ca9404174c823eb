"""Images in a NumPy .npz archive, with optional labels and class names, optional
per-token masking scores and an optional own test split, read on demand when they do
not fit in memory. Which array is which: `npz_layout`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data import series_npz
from maskfuse.data.arrays import ArrayRows, FloatValues, ImageValues, MappedArray, npz_arrays
from maskfuse.data.base import ArrayDataset, Splits, class_count, source_path
from maskfuse.data.npz_layout import Layout, layout
from maskfuse.data.ondemand import STAT_ROWS, fits, settle
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec


def _images(arr: MappedArray | np.ndarray, path: Path, key: str) -> tuple[int, ...]:
    """The float32 shape [C, H, W] one sample of `arr` ([N, H, W] or [N, C, H, W], uint8
    0-255 or float 0-1) converts to."""
    if arr.ndim not in (3, 4):
        raise DataError(f"{path}: '{key}' must be [N, H, W] or [N, C, H, W], got shape {list(arr.shape)}")
    if arr.dtype.kind not in "uif":
        raise DataError(f"{path}: '{key}' has dtype {arr.dtype}; expected uint8 or float")
    if not len(arr):
        raise DataError(f"{path}: '{key}' holds no images")
    return tuple(int(s) for s in (arr.shape[1:] if arr.ndim == 4 else (1, *arr.shape[1:])))


@DATASETS.register("npz")
def load(cfg: DataConfig) -> Splits:
    """Images (or, by their names, series: `series_npz`) with optional labels, class names,
    per-token masking scores and an own test split or split array (`npz_layout`).

    Images stay in the archive (memory-mapped, see `arrays`) and are held converted only
    when both splits fit in data.memory_mb."""
    path = source_path(cfg.path, "npz file", "npz", folder=False)
    z, notes = npz_arrays(path, cfg.memory_mb)
    checks = {"images": lambda key: _images(z[key], path, key), "series": lambda key: series_npz.check(z, key, path)}
    plan = layout(z, cfg.arrays, path, cfg.test_fraction, cfg.split_seed, checks)
    if plan.inputs == "series":
        return series_npz.from_layout(z, plan, path, cfg, notes)
    shape = _images(z[plan.train.key], path, plan.train.key)
    if cfg.channels is not None and shape[0] != cfg.channels:
        raise DataError(f"{path}: '{plan.train.key}' has {shape[0]} channels, data.channels expects {cfg.channels}")
    own_test = plan.test.key != plan.train.key
    if own_test and _images(z[plan.test.key], path, plan.test.key) != shape:
        raise DataError(f"{path}: '{plan.test.key}' {list(z[plan.test.key].shape[1:])} differ from '{plan.train.key}'")
    scores = {"train": _scores(z, plan.roles.get("mask_scores"), len(z[plan.train.key]), path)}
    scores["test"] = _scores(z, plan.roles.get("test_mask_scores"), len(z[plan.test.key]), path) if own_test \
        else scores["train"]  # fmt: skip
    if (scores["train"] is None) != (scores["test"] is None):
        raise DataError(f"{path}: give both 'mask_scores' and 'test_mask_scores', or neither")

    def rows(name: str) -> ArrayRows:
        part, extra = getattr(plan, name), scores[name]
        extras = {} if extra is None else {"mask_scores": extra}
        labels = None if part.labels is None else torch.as_tensor(part.labels[part.rows])
        return ArrayRows(z[part.key], part.rows, ImageValues(path, part.key), shape, "image", labels, extras)

    train, test, mean, std = settle(rows("train"), rows("test"), cfg.memory_mb)
    num_classes = len(plan.class_names) or class_count(train.labels, test.labels)
    spec = DataSpec("image", shape, mean, std, num_classes, plan.class_names)
    return Splits(train, test, spec, f"npz ({path})", notes + plan.notes)


def _scores(z: dict, key: str | None, n: int, path: Path) -> np.ndarray | None:
    """Optional per-token masking scores [N, tokens] for the guided sampler."""
    if key is None:
        return None
    s = np.asarray(z[key][()])
    if s.ndim != 2 or len(s) != n or not np.issubdtype(s.dtype, np.number):
        raise DataError(f"{path}: '{key}' must be numbers shaped [{n}, tokens], got {s.dtype} {list(s.shape)}")
    if not np.isfinite(s).all():
        raise DataError(f"{path}: '{key}' holds NaN or infinite values")
    return s.astype(np.float32)


Check = Callable[[MappedArray | np.ndarray, Path, str], tuple[int, ...]]  # (array, file, key) -> one sample's shape


def check_rows(arr: MappedArray | np.ndarray, path: Path, key: str, ranks: tuple[int, ...], layouts: str,
               what: str) -> None:  # fmt: skip
    """What an array source checks first: the array has one of `ranks` (else an error
    showing the `layouts` it may have), holds numbers, and has rows."""
    if arr.ndim not in ranks:
        raise DataError(f"{path}: '{key}' must be {what} {layouts}, got shape {list(arr.shape)}")
    if np.dtype(arr.dtype).kind not in "uif":
        raise DataError(f"{path}: '{key}' has dtype {arr.dtype}; expected numbers")
    if not len(arr):
        raise DataError(f"{path}: '{key}' holds no {what}")


def archive_splits(
    cfg: DataConfig, kind: str, modality: str, check: Check, to_sample: Callable | None = None,
    converter: Callable[[Path, str], Callable] = FloatValues,
) -> Splits:  # fmt: skip
    """The source of a modality folder whose samples are rows of one array: the `kind` array
    of an .npz (with labels, class names and a split or `test_<kind>` array, by `npz_layout`;
    `data.arrays` names them otherwise) or a bare .npy (unlabelled, split by
    data.test_fraction). Rows stay in the file (memory-mapped) and are held converted when
    both splits fit in data.memory_mb. `check` validates an array and gives the shape one
    row converts to; `to_sample` ([n, *stored] float32 -> [n, *shape]) reshapes rows
    when the two differ (a channel axis added); `converter(path, key)` turns stored rows
    into float32 (`FloatValues`: as they are). Mean and std are per channel (axis 1)."""
    path = source_path(cfg.path, f".npz or .npy file of {kind}", cfg.name, folder=False)
    if path.suffix == ".npy":
        try:
            z, notes = {kind: np.load(path, mmap_mode="r", allow_pickle=False)}, []
        except (ValueError, OSError) as err:
            raise DataError(f"{path}: not a readable .npy array ({err})") from err
    else:
        z, notes = npz_arrays(path, cfg.memory_mb)
    plan = layout(z, cfg.arrays, path, cfg.test_fraction, cfg.split_seed, {kind: lambda key: check(z[key], path, key)})
    shape = check(z[plan.train.key], path, plan.train.key)
    if plan.test.key != plan.train.key and check(z[plan.test.key], path, plan.test.key) != shape:
        raise DataError(f"{path}: '{plan.test.key}' {list(z[plan.test.key].shape[1:])} differ from "
                        f"'{plan.train.key}' {list(z[plan.train.key].shape[1:])}")  # fmt: skip
    source = f"{cfg.name} ({path})"
    return array_splits(z, plan, shape, modality, cfg.memory_mb, path, source, notes, to_sample, converter)


def array_splits(
    z: dict, plan: Layout, shape: tuple[int, ...], modality: str, memory_mb: float, path: Path, source: str,
    notes: list[str], to_sample: Callable | None = None, converter: Callable[[Path, str], Callable] = FloatValues,
) -> Splits:  # fmt: skip
    """Both splits of `plan` over the arrays `z` (mapped or in memory, any numeric dtype;
    errors name `path`), converted to float32 rows of `shape` batch by batch, held converted
    when they fit in `memory_mb`; the spec's mean and std are per channel (axis 1)."""

    def rows(name: str) -> ArrayRows:
        part = getattr(plan, name)
        convert = converter(path, part.key)
        if to_sample is not None:
            convert = Reshaped(convert, to_sample)
        labels = None if part.labels is None else torch.as_tensor(part.labels[part.rows])
        return ArrayRows(z[part.key], part.rows, convert, shape, modality, labels)

    train, test = rows("train"), rows("test")
    if fits(len(train) + len(test), [shape], memory_mb):
        train, test = train.decoded(), test.decoded()
        sample: ArrayDataset = train
    else:
        sample = train.sample(STAT_ROWS).decoded()
    axes = (0, *range(2, sample.inputs.ndim))
    mean = tuple(sample.inputs.mean(dim=axes).tolist())
    std = tuple(sample.inputs.std(dim=axes).clamp_min(1e-3).tolist())
    num_classes = len(plan.class_names) or class_count(train.labels, test.labels)
    spec = DataSpec(modality, shape, mean, std, num_classes, plan.class_names)
    return Splits(train, test, spec, source, notes + plan.notes)


@dataclass
class Reshaped:
    """A row converter followed by a reshape of its float32 output (pickles for DataLoader
    workers when `reshape` is a module-level function)."""

    first: Callable[[np.ndarray, np.ndarray], np.ndarray]
    reshape: Callable[[np.ndarray], np.ndarray]

    def __call__(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.reshape(self.first(values, rows))
