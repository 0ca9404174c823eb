"""Audio sources: a folder of audio files, a CSV manifest, and the spoken-digit set (FSDD).

Files are read with soundfile (WAV, FLAC, OGG and the rest of libsndfile), mixed down
to mono and resampled to data.sample_rate with scipy's polyphase resampler. Clips are
cropped to data.max_seconds and padded at the end with NaN, which the tokenizer turns
into padding tokens.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import torch
from scipy.signal import resample_poly

from maskfuse.config import DataConfig
from maskfuse.data.base import ArrayDataset, DataSpec, Splits, source_path, split_indices
from maskfuse.data.columns import read_columns
from maskfuse.data.timeseries import encode_labels
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"}


def read_audio(path: Path | BinaryIO, rate: int, where: str | None = None) -> np.ndarray:
    """Mono float32 samples of `path` (a file, or encoded bytes named `where`) at `rate` Hz;
    a DataError names an unreadable file."""
    where = where or path
    try:
        data, file_rate = sf.read(str(path) if isinstance(path, Path) else path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise DataError(f"{where}: cannot read audio ({err})") from err
    if data.shape[0] == 0:
        raise DataError(f"{where}: the file holds no samples")
    mono = data.mean(axis=1)
    if file_rate != rate:
        g = math.gcd(int(file_rate), int(rate))
        mono = resample_poly(mono, rate // g, int(file_rate) // g).astype(np.float32)
    if not np.isfinite(mono).all():
        raise DataError(f"{where}: holds NaN or infinite samples")
    return mono


def read_clips(paths: list[Path], cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """[N, 1, S] NaN-padded clips of the readable files, their indices, and notes."""
    samples = max(1, round(cfg.sample_rate * cfg.max_seconds))
    x = np.full((len(paths), 1, samples), np.nan, dtype=np.float32)
    keep, notes = [], []
    for i, path in enumerate(paths):
        try:
            clip = read_audio(path, cfg.sample_rate)[:samples]
        except DataError:
            if cfg.on_error == "raise":
                raise
            continue
        x[i, 0, : len(clip)] = clip
        keep.append(i)
    if len(keep) < len(paths):
        notes.append(f"skipped {len(paths) - len(keep)} unreadable audio files (data.on_error=skip)")
    return x[keep], np.asarray(keep, dtype=np.int64), notes


def audio_splits(paths: list[Path], labels: list | None, cfg: DataConfig, source: str) -> Splits:
    """Read `paths`, split them (data.test_regex over the file names, else a seeded split)."""
    if not paths:
        raise DataError(f"{source}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    x, kept, notes = read_clips(paths, cfg)
    if len(kept) == 0:
        raise DataError(f"{source}: none of the {len(paths)} audio files could be read")
    paths = [paths[i] for i in kept]
    y, names = (None, ())
    if labels is not None:
        y, names = encode_labels(np.asarray([labels[i] for i in kept], dtype=object), source)
    if cfg.test_regex:
        pattern = re.compile(cfg.test_regex)
        is_test = np.asarray([bool(pattern.search(p.name)) for p in paths])
        if is_test.all() or not is_test.any():
            raise DataError(
                f"{source}: data.test_regex={cfg.test_regex!r} matches {int(is_test.sum())} of "
                f"{len(paths)} files; it must pick some but not all"
            )
        tr, te = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    else:
        tr, te = split_indices(len(x), y, cfg.test_fraction, cfg.split_seed)
    rng = np.random.default_rng(cfg.split_seed)  # files come sorted by class: shuffle once, so that
    tr, te = rng.permutation(tr), rng.permutation(te)  # data.max_train keeps a fair sample
    observed = np.isfinite(x[tr])
    spec = DataSpec(
        modality="audio",
        shape=(1, x.shape[-1]),
        mean=(float(x[tr][observed].mean()),),
        std=(float(x[tr][observed].std()),),
        num_classes=len(names) or None,
        class_names=names,
    )

    def wrap(idx: np.ndarray) -> ArrayDataset:
        labels_ = None if y is None else torch.as_tensor(y[idx])
        return ArrayDataset(torch.as_tensor(x[idx]), labels_, "audio")

    return Splits(wrap(tr), wrap(te), spec, source, notes)


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
    cols = read_columns(path)
    files = []
    for i, cell in enumerate(cols.column("path", "audio file paths")):
        if cell is None:
            raise DataError(f"{cols.row_name(i)}: empty 'path'")
        file = (path.parent / str(cell)).resolve()
        if not file.is_file() and cfg.on_error == "raise":
            raise DataError(f"{cols.row_name(i)}: audio file {file} does not exist")
        files.append(file)
    labels = None
    if cfg.label_column and cfg.label_column in cols.names:
        labels = list(cols.column(cfg.label_column, "labels"))
    return audio_splits(files, labels, cfg, f"audio-csv ({path})")


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
