"""Data sources by name or path. Importing this package registers the built-in sources."""

from __future__ import annotations

from pathlib import Path

from maskfuse.config import DataConfig
from maskfuse.data import digits, fashion_mnist, image_folder, npz  # noqa: F401
from maskfuse.data.base import ArrayDataset, DataSpec, Splits, cap
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

__all__ = ["ArrayDataset", "DataSpec", "Splits", "load_data", "data_overrides"]


def data_overrides(name_or_path: str) -> dict[str, str]:
    """Data settings for a --data argument: a registered name, a folder or a .npz file."""
    if name_or_path in DATASETS:
        return {"name": name_or_path}
    path = Path(name_or_path)
    if path.is_dir():
        return {"name": "image-folder", "path": str(path)}
    if path.suffix == ".npz" and path.exists():
        return {"name": "npz", "path": str(path)}
    if not path.exists():
        raise DataError(f"--data {name_or_path}: no such dataset or path; datasets: {', '.join(DATASETS.names())}")
    raise DataError(f"--data {name_or_path}: expected a folder of images or a .npz file")


def load_data(cfg: DataConfig) -> Splits:
    """Load the train and held-out splits that `cfg` names, with their caps applied."""
    splits = DATASETS.get(cfg.name)(cfg)
    if cfg.channels is not None and splits.spec.shape[0] != cfg.channels:
        raise DataError(f"{splits.source}: data has {splits.spec.shape[0]} channels, data.channels={cfg.channels}")
    return cap(splits, cfg.max_train, cfg.max_test)
