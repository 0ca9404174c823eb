"""Hugging Face datasets on local disk: a `save_to_disk` folder, a parquet file, or a
folder of parquet files (the Hub's layout, splits by file name).

The arrow table is memory-mapped by the `datasets` library and rows are decoded only
when a batch asks for them (images with Pillow, audio with soundfile; see
`data/ondemand.py`), so the training split is never held in memory, unless both splits
fit decoded in data.memory_mb, when they are read once and held. The modality comes
from the column's declared feature type (`Image` or `Audio`);
`data.modalities=[column:kind]` picks one when there are several. Labels come from
`data.label_column` (a `ClassLabel` gives the class names). A `train` split is
required; `test`, else `validation`, is the held-out split, else a seeded
`data.test_fraction` of train. Text columns go through the `text` source, which reads
parquet directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, source_path, split_indices
from maskfuse.data.ondemand import Decoder, LazyRows, TableCells, encoded, settle
from maskfuse.data.readers import image_mode
from maskfuse.data.timeseries import encode_labels
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec


def _datasets():
    try:
        import datasets
    except ImportError as err:
        raise DataError("data.name=hf needs the datasets library: pip install 'maskfuse[hf]'") from err
    datasets.disable_progress_bars()
    return datasets


def open_dataset(path: Path) -> dict:
    """Split name -> datasets.Dataset for a save_to_disk folder or parquet file(s)."""
    datasets = _datasets()
    try:
        if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
            found = datasets.load_from_disk(str(path))
        elif path.is_dir():
            found = datasets.load_dataset("parquet", data_dir=str(path))
        else:
            found = datasets.load_dataset("parquet", data_files={"train": str(path)})
    except (FileNotFoundError, ValueError, OSError) as err:
        raise DataError(f"{path}: cannot open as a Hugging Face dataset ({err})") from err
    return dict(found) if isinstance(found, datasets.DatasetDict) else {"train": found}


def pick_column(table, cfg: DataConfig, where: str) -> tuple[str, str]:
    """(column, kind) of the modality: from data.modalities, else the one Image / Audio column."""
    datasets = _datasets()
    kinds = {
        c: k
        for c, f in table.features.items()
        for t, k in ((datasets.Image, "image"), (datasets.Audio, "audio"))
        if isinstance(f, t)
    }
    if cfg.modalities:
        if len(cfg.modalities) != 1 or ":" not in cfg.modalities[0]:
            raise DataError(f"{where}: data.modalities must name one column as column:kind, got {list(cfg.modalities)}")
        column, kind = cfg.modalities[0].split(":", 1)
        if kinds.get(column) != kind:
            raise DataError(
                f"{where}: column '{column}' is not an {kind} column; image/audio columns: {kinds or 'none'}"
            )
        return column, kind
    if len(kinds) != 1:
        text = [c for c, f in table.features.items() if getattr(f, "dtype", None) in ("string", "large_string")]
        hint = f"; text columns ({', '.join(text)}) go through data.name=text" if text and not kinds else ""
        raise DataError(
            f"{where}: expected one Image or Audio column, found {kinds or 'none'}{hint}; "
            "name one with data.modalities=[column:kind]"
        )
    return next(iter(kinds.items()))


def labels_of(table, cfg: DataConfig, where: str) -> tuple[np.ndarray | None, tuple[str, ...]]:
    column = cfg.label_column
    if column is None or column not in table.column_names:
        return None, ()
    feature = table.features[column]
    raw = np.asarray(table[column], dtype=object)
    if isinstance(feature, _datasets().ClassLabel):
        return raw.astype(np.int64), tuple(feature.names)
    return encode_labels(raw, f"{where}: column '{column}'")


@DATASETS.register("hf")
def load(cfg: DataConfig) -> Splits:
    """A local Hugging Face dataset with an image or audio column, read on demand."""
    what = "Hugging Face dataset (save_to_disk folder, parquet file or folder)"
    path = source_path(cfg.path, what, "hf", folder=Path(cfg.path or "").is_dir())
    found = open_dataset(path)
    if "train" not in found:
        raise DataError(f"{path}: no 'train' split (found: {', '.join(found)})")
    held = "test" if "test" in found else "validation" if "validation" in found else None
    column, kind = pick_column(found["train"], cfg, str(path))
    tables = {
        name: found[name].cast_column(column, type(found["train"].features[column])(decode=False))
        for name in {"train", held} - {None}
    }
    train_y, names = labels_of(tables["train"], cfg, str(path))
    test_y = None
    if held is not None:
        test_y, _ = labels_of(tables[held], cfg, str(path))
        train_rows, test_rows = np.arange(len(tables["train"])), np.arange(len(tables[held]))
    else:
        rows = len(tables["train"])
        train_rows, test_rows = split_indices(rows, train_y, cfg.test_fraction, cfg.split_seed, str(path))
        held, test_y = "train", train_y
    decode = Decoder(
        kind, size=cfg.image_size, rate=cfg.sample_rate, samples=max(1, round(cfg.sample_rate * cfg.max_seconds))
    )
    where = f"{path}: column '{column}'"
    if kind == "image":
        cells = tables["train"][:64][column]
        decode.mode = image_mode([encoded(c, where) for c in cells], cfg.channels, where)
    decode.prime(*TableCells(tables["train"], column, where)(train_rows[:1])[0])

    def split(name: str, rows: np.ndarray, y: np.ndarray | None) -> LazyRows:
        labels = None if y is None else torch.as_tensor(y[rows], dtype=torch.int64)
        return LazyRows(TableCells(tables[name], column, where), rows, decode, kind, labels)

    train, test, mean, std = settle(split("train", train_rows, train_y), split(held, test_rows, test_y), cfg.memory_mb)
    spec = DataSpec(kind, decode.shape, mean, std, len(names) or None, names)
    return Splits(train, test, spec, f"hf ({path})")
