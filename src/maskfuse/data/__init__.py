"""Data sources by name or path. Importing this package registers the built-in sources."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from maskfuse.config import Config, DataConfig
from maskfuse.data import (  # noqa: F401
    digits,
    digits_av,
    fashion_mnist,
    hf,
    image_folder,
    manifest,
    npz,
    series_npz,
    series_table,
    shards,
    tabular,
    text,
    timeseries,
)
from maskfuse.data.base import FOLDER_SOURCES, ArrayDataset, Splits, cap, resident
from maskfuse.data.npz_layout import SOURCES
from maskfuse.errors import DataError
from maskfuse.modalities import load_all
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec

load_all()  # the sources of modality folders (modalities/<name>/) register themselves

__all__ = ["ArrayDataset", "DataSpec", "Splits", "load_data", "data_overrides", "in_chunks", "resident"]


SUFFIXES = {".ts": "ucr", ".tsv": "ucr", ".jsonl": "text", ".txt": "text"}  # files whose format names their source


def data_overrides(name_or_path: str) -> dict[str, str]:
    """Data settings for a --data argument: a registered name, a folder or a file.

    A file whose format does not say what it holds (.csv, .parquet) keeps the source
    named by data.name, which the command line must then give."""
    if name_or_path in DATASETS:
        return {"name": name_or_path}
    path = Path(name_or_path)
    if not path.exists():
        raise DataError(f"--data {name_or_path}: no such dataset or path; datasets: {', '.join(DATASETS.names())}")
    if path.is_dir():
        return {"name": _folder_source(path), "path": str(path)}
    if path.suffix == ".npz":
        return {"name": _npz_source(path), "path": str(path)}
    if path.suffix.lower() in SUFFIXES:
        return {"name": SUFFIXES[path.suffix.lower()], "path": str(path)}
    return {"path": str(path)}


def _folder_source(folder: Path) -> str:
    """'webdataset' for a shard folder (it holds spec.json); the source of a modality folder
    that claims the files' suffixes, at any depth (`FOLDER_SOURCES`: audio, video, NIfTI,
    meshes); a clear error for audio that soundfile cannot decode; else 'image-folder'."""
    if (folder / shards.SPEC_FILE).is_file():
        return "webdataset"
    names = [p.name.lower() for p in folder.rglob("*")]  # one walk of the folder serves both checks
    claimed = {source for suffix, source in FOLDER_SOURCES.items() if any(n.endswith(suffix) for n in names)}
    if len(claimed) == 1:
        return claimed.pop()
    if claimed:
        found = ", ".join(sorted(claimed))
        raise DataError(f"{folder}: holds files of several sources ({found}); name one with data.name")
    import soundfile as sf

    from maskfuse.data.readers import AUDIO_SUFFIXES, UNDECODABLE_AUDIO

    suffixes = {Path(n).suffix for n in names}
    if suffixes & UNDECODABLE_AUDIO:
        found = ", ".join(sorted(suffixes & UNDECODABLE_AUDIO))
        raise DataError(
            f"{folder}: holds {found} audio, which this soundfile / libsndfile "
            f"{sf.__libsndfile_version__} cannot decode; it reads {', '.join(sorted(AUDIO_SUFFIXES))}. "
            "Convert the files first, e.g. ffmpeg -i clip.m4a clip.flac"
        )
    return "image-folder"


def _npz_source(path: Path) -> str:
    """The source of an archive by the input array it holds ('series' -> 'series-npz',
    'volumes' -> 'volumes': `npz_layout.SOURCES`), else the image 'npz' source."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return next((SOURCES[k] for k in archive.files if k in SOURCES), "npz")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return "npz"  # that source reports what is wrong with the file


def in_chunks(ds, size: int) -> Iterator[tuple[ArrayDataset, list[str] | None]]:
    """A single-modality split in its order, `size` rows at a time, each chunk in memory
    with where its rows come from (files, lines, archive rows; None where the data does
    not say): how `maskfuse embed` reads a split read on demand without holding it whole."""
    if isinstance(ds, shards.ShardStream):
        for chunk in ds.chunks(size):
            yield chunk, None
        return
    origins = getattr(ds, "origins", None)
    for lo in range(0, len(ds), size):
        index = np.arange(lo, min(lo + size, len(ds)))
        batch = ds.batch(torch.as_tensor(index))
        yield ArrayDataset(batch[ds.modality], batch.get("label"), ds.modality), origins and origins(index)


def own_tokenizers(spec: DataSpec) -> dict[str | None, str]:
    """The tokenizers a run's data was read with: {None: its JSON} for a text source, or
    {column: its JSON} for the text columns of paired data."""
    if spec.modality == "text":
        return {None: spec.meta["encoding"]} if "encoding" in spec.meta else {}
    return {name: part.meta["encoding"] for name, part in spec.parts.items() if "encoding" in part.meta}


def load_data(cfg: DataConfig, spec: DataSpec | None = None, run: Config | None = None) -> Splits:
    """Load the train and held-out splits that `cfg` names, with their caps applied.

    A source that reads with settings outside `data` (a modality folder's own section, such
    as video.frames) says so (`load.reads_run = True`) and gets the run's config `run` (the
    defaults without one) after the data settings.

    Given a run's `spec`, text (a text source, or the text columns of paired data) is read
    through the run's own tokenizers instead of ones trained again: WordPiece training is
    not deterministic (huggingface/tokenizers#1794), so a retrained vocabulary can give the
    run's model other ids for the same words."""
    tokenizers = own_tokenizers(spec) if spec is not None else {}
    if tokenizers:
        with tempfile.TemporaryDirectory() as tmp:
            files = {}
            for name, encoding in tokenizers.items():
                files[name] = Path(tmp) / f"tokenizer-{len(files)}.json"
                files[name].write_text(encoding, encoding="utf-8")
            if None in files:
                return load_data(replace(cfg, vocab=str(files[None])), run=run)
            return load_data(replace(cfg, vocabs=tuple(f"{name}:{file}" for name, file in files.items())), run=run)
    source = DATASETS.get(cfg.name)
    splits = source(cfg, run or Config()) if getattr(source, "reads_run", False) else source(cfg)
    if cfg.channels is not None and not splits.spec.parts and splits.spec.shape[0] != cfg.channels:
        raise DataError(f"{splits.source}: data has {splits.spec.shape[0]} channels, data.channels={cfg.channels}")
    return cap(splits, cfg.max_train, cfg.max_test)
