"""Hugging Face datasets on local disk: a `save_to_disk` folder, a parquet file, or a
folder of parquet files (the Hub's layout, splits by file name).

The arrow table is memory-mapped by the `datasets` library and rows are decoded only
when a batch asks for them (images with Pillow, audio with soundfile), so the training
split is never held in memory. The modality comes from the column's declared feature
type (`Image` or `Audio`); `data.modalities=[column:kind]` picks one when there are
several. Labels come from `data.label_column` (a `ClassLabel` gives the class names).
A `train` split is required; `test`, else `validation`, is the held-out split, else a
seeded `data.test_fraction` of train. Text columns go through the `text` source, which
reads parquet directly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.audio import read_audio
from maskfuse.data.base import ArrayDataset, DataSpec, Splits, source_path, split_indices
from maskfuse.data.image_folder import image_mode, read_image
from maskfuse.data.timeseries import encode_labels
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

STAT_ROWS = 2048  # training rows the input mean and std are estimated on


def _datasets():
    try:
        import datasets
    except ImportError as err:
        raise DataError("data.name=hf needs the datasets library: pip install 'maskfuse[hf]'") from err
    datasets.disable_progress_bars()
    return datasets


def encoded(cell: object, where: str) -> io.BytesIO | Path:
    """An `Image` / `Audio` cell left undecoded: its bytes, else the file it names."""
    if not isinstance(cell, dict) or not (cell.get("bytes") or cell.get("path")):
        raise DataError(f"{where}: empty cell (expected encoded bytes or a file path)")
    return io.BytesIO(cell["bytes"]) if cell.get("bytes") else Path(cell["path"])


@dataclass
class Decoder:
    """Encoded cells of one column -> fixed-shape float32 arrays."""

    kind: str  # image | audio
    where: str
    mode: str = "RGB"
    size: int | None = None
    rate: int = 8000
    samples: int = 8000

    def __call__(self, cell: dict, row: int) -> np.ndarray:
        where = f"{self.where}, row {row}"
        source = encoded(cell, where)
        if self.kind == "image":
            return read_image(source, self.mode, self.size, where)
        clip = np.full((1, self.samples), np.nan, dtype=np.float32)  # NaN: padding, masked downstream
        wave = read_audio(source, self.rate, where)[: self.samples]
        clip[0, : len(wave)] = wave
        return clip


@dataclass
class HFRows:
    """Rows of a memory-mapped table, decoded batch by batch."""

    table: object  # datasets.Dataset with the column left encoded
    rows: np.ndarray  # which table rows belong to this split
    column: str
    decode: Decoder
    modality: str
    labels: torch.Tensor | None = None
    in_memory: ClassVar[bool] = False

    def __len__(self) -> int:
        return len(self.rows)

    def _inputs(self, index: np.ndarray) -> torch.Tensor:
        rows = self.rows[index]
        cells = self.table[rows.tolist()][self.column]
        return torch.from_numpy(np.stack([self.decode(c, int(r)) for c, r in zip(cells, rows)]))

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        index = index.numpy()
        out = {self.modality: self._inputs(index)}
        if self.labels is not None:
            out["label"] = self.labels[index]
        return out

    def head(self, rows: int) -> ArrayDataset:
        index = np.arange(min(rows, len(self)))
        inputs = torch.cat([self._inputs(index[i : i + 512]) for i in range(0, len(index), 512)])
        return ArrayDataset(inputs, None if self.labels is None else self.labels[: len(index)], self.modality)


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
        train_rows, test_rows = split_indices(len(tables["train"]), train_y, cfg.test_fraction, cfg.split_seed)
        held, test_y = "train", train_y
    decode = Decoder(
        kind,
        f"{path}: column '{column}'",
        size=cfg.image_size,
        rate=cfg.sample_rate,
        samples=max(1, round(cfg.sample_rate * cfg.max_seconds)),
    )
    if kind == "image":
        cells = tables["train"][:64][column]
        decode.mode = image_mode([encoded(c, decode.where) for c in cells], cfg.channels, decode.where)

    def split(name: str, rows: np.ndarray, y: np.ndarray | None) -> HFRows:
        labels = None if y is None else torch.as_tensor(y[rows], dtype=torch.int64)
        return HFRows(tables[name], rows, column, decode, kind, labels)

    train, test = split("train", train_rows, train_y), split(held, test_rows, test_y)
    sample = train.head(STAT_ROWS).inputs
    if kind == "audio":
        seen = sample[torch.isfinite(sample)]  # padding is NaN
        mean, std = (float(seen.mean()),), (float(seen.std()),)
    else:
        mean, std = tuple(sample.mean((0, 2, 3)).tolist()), tuple(sample.std((0, 2, 3)).clamp_min(1e-3).tolist())
    spec = DataSpec(kind, tuple(sample.shape[1:]), mean, std, len(names) or None, names)
    return Splits(train, test, spec, f"hf ({path})")
