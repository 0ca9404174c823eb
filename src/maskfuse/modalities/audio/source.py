"""Audio sources: a folder of audio files, a CSV manifest, and the spoken-digit set (FSDD).

Files are read by `data/readers.py` (soundfile, mono, resampled to data.sample_rate).
Clips are cropped to data.max_seconds and padded at the end with NaN, which the
tokenizer turns into padding tokens. They are decoded on demand (`data/ondemand.py`),
or read once and held when both splits fit in data.memory_mb.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.base import FOLDER_SOURCES, ArrayDataset, Splits, given_split, source_path, split_indices
from maskfuse.data.columns import TableFile
from maskfuse.data.manifest_cells import manifest_file
from maskfuse.data.ondemand import Decoder, file_splits, readable_files
from maskfuse.data.readers import AUDIO_SUFFIXES
from maskfuse.data.timeseries import encode_labels, marker_codes
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec


def audio_splits(
    paths: list[Path],
    labels: list | None,
    cfg: DataConfig,
    source: str,
    marks: list | None = None,
    row_name: Callable[[int], str] | None = None,
) -> Splits:
    """Split `paths` (by the split markers `marks` of a manifest's data.split_column, its
    rows named in errors by `row_name`, else
    data.test_regex over the file names, else a seeded split); clips are decoded on demand,
    or read once and held when they fit in data.memory_mb."""
    if not paths:
        raise DataError(f"{source}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    rows_of = list(range(len(paths)))  # which manifest row each kept file is, after skipping
    paths, kept, notes = readable_files(paths, rows_of, "audio", cfg.on_error == "skip", source)
    labels = None if labels is None else [labels[r] for r in kept]
    y, names = (None, ())
    if labels is not None:
        y, names = encode_labels(np.asarray(labels, dtype=object), source)
    if marks is not None:
        codes, distinct = marker_codes([marks[r] for r in kept])
        where = f"{source}, data.split_column={cfg.split_column}"
        rows = given_split(codes, distinct, where, lambda k: row_name(kept[k]))
    elif cfg.test_regex:
        pattern = re.compile(cfg.test_regex)
        is_test = np.asarray([bool(pattern.search(p.name)) for p in paths])
        if is_test.all() or not is_test.any():
            raise DataError(
                f"{source}: data.test_regex={cfg.test_regex!r} matches {int(is_test.sum())} of "
                f"{len(paths)} files; it must pick some but not all"
            )
        rows = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    else:
        rows = split_indices(len(paths), y, cfg.test_fraction, cfg.split_seed, source)
    decode = Decoder("audio", rate=cfg.sample_rate, samples=max(1, round(cfg.sample_rate * cfg.max_seconds)))
    train, test, mean, std = file_splits(paths, y, rows, decode, cfg)
    spec = DataSpec("audio", decode.shape, mean, std, len(names) or None, names)
    return Splits(train, test, spec, source, notes)


def _folder_files(folder: Path, cfg: DataConfig) -> tuple[list[Path], list | None]:
    """Audio files of `folder`: labels from data.label_regex, else class sub-folders."""
    subdirs = sorted(d for d in folder.iterdir() if d.is_dir())
    if subdirs and cfg.label_regex is None:
        files, labels = [], []
        for d in subdirs:
            found = sorted(p for p in d.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
            files += found
            labels += [d.name] * len(found)
        return files, labels
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if cfg.label_regex is None:
        return files, None
    pattern = re.compile(cfg.label_regex)
    labels = []
    for p in files:
        m = pattern.search(p.name)
        if m is None or not m.groups():
            raise DataError(f"{p}: data.label_regex={cfg.label_regex!r} finds no label group in the file name")
        labels.append(m.group(1))
    return files, labels


@DATASETS.register("audio-folder")
def load_folder(cfg: DataConfig) -> Splits:
    """Audio files in class sub-folders, or anywhere below data.path with labels from
    data.label_regex (or none)."""
    folder = source_path(cfg.path, "folder of audio files", "audio-folder", folder=True)
    files, labels = _folder_files(folder, cfg)
    return audio_splits(files, labels, cfg, f"audio-folder ({folder})")


@DATASETS.register("audio-csv")
def load_manifest(cfg: DataConfig) -> Splits:
    """A CSV / Parquet manifest with a `path` column (relative to the manifest) and the
    label column data.label_column (optional)."""
    path = source_path(cfg.path, "audio manifest (CSV or Parquet)", "audio-csv", folder=False)
    table = TableFile(path)  # streamed: only the paths and labels are kept
    if "path" not in table.names:
        raise DataError(f"{path}: no column 'path' (audio file paths); columns: {', '.join(table.names)}")
    label = cfg.label_column if cfg.label_column in table.names else None
    if cfg.split_column is not None and cfg.split_column not in table.names:
        raise DataError(
            f"{path}: no column '{cfg.split_column}' (split markers, data.split_column); "
            f"columns: {', '.join(table.names)}"
        )
    files, labels, root = [], None if label is None else [], path.parent.resolve()
    marks = None if cfg.split_column is None else []
    for chunk in table.chunks():
        for cell in chunk["path"].cells:
            if cell is None:
                raise DataError(f"{table.row_name(len(files))}: empty 'path'")
            file = manifest_file(root, str(cell), table.row_name(len(files)), cfg.allow_outside)
            if not file.is_file() and cfg.on_error == "raise":
                raise DataError(f"{table.row_name(len(files))}: audio file {file} does not exist")
            files.append(file)
        if labels is not None:
            labels.extend(chunk[label].cells)
        if marks is not None:
            marks.extend(chunk[cfg.split_column].cells)
    return audio_splits(files, labels, cfg, f"audio-csv ({path})", marks, table.row_name)


@DATASETS.register("fsdd")
def load_fsdd(cfg: DataConfig) -> Splits:
    """The Free Spoken Digit Dataset (Jackson et al.; CC BY-SA 4.0): data.path is a
    checkout holding recordings/{digit}_{speaker}_{take}.wav. Labels are the digits;
    the authors' split puts takes 0-4 in the test set (data.test_regex, which also
    holds out a speaker: data.test_regex=_theo_)."""
    root = source_path(cfg.path, "FSDD checkout (with recordings/)", "fsdd", folder=True)
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav")
    labels = []
    for p in files:
        m = re.match(r"^(\d)_([a-z]+)_(\d+)\.wav$", p.name)
        if m is None:
            raise DataError(f"{p}: not an FSDD file name ({{digit}}_{{speaker}}_{{take}}.wav)")
        labels.append(m.group(1))
    if cfg.test_regex is None:
        cfg = DataConfig(**{**cfg.__dict__, "test_regex": r"_[0-4]\.wav$"})
    return audio_splits(files, labels, cfg, f"fsdd ({folder})")


FOLDER_SOURCES.update(dict.fromkeys(AUDIO_SUFFIXES, "audio-folder"))  # `--data FOLDER` of audio files reads here


def contract_example() -> tuple[Splits, list[str]]:
    """Small synthetic audio for the contract tests: 48 noisy chirps of a quarter second at
    8 kHz in 4 pitches (classes), of unequal length (NaN-padded), and settings that keep
    them cheap."""
    rng = np.random.default_rng(0)
    t = np.arange(2000) / 8000
    x = np.stack([np.sin(2 * np.pi * (300 + 200 * (i % 4)) * t * (1 + t)) for i in range(48)])[:, None]
    x = (x + 0.05 * rng.normal(size=x.shape)).astype(np.float32)
    for i in range(48):
        x[i, :, 2000 - (i % 5) * 300 :] = np.nan
    y = torch.as_tensor(np.arange(48) % 4)
    spec = DataSpec("audio", (1, x.shape[-1]), (0.0,), (1.0,), 4, ("a", "b", "c", "d"))
    train, test = (
        ArrayDataset(torch.as_tensor(x[:32]), y[:32], "audio"),
        ArrayDataset(torch.as_tensor(x[32:]), y[32:], "audio"),
    )
    return Splits(train, test, spec, "synthetic chirps"), ["audio.n_mels=16", "data.max_seconds=0.25"]
