"""What `maskfuse embed` writes: a .npy array, or a .parquet table with each row's identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from maskfuse.errors import ConfigError, MaskfuseError


@dataclass
class EmbeddedRows:
    """The embeddings of one split, with each row's label and where it came from."""

    split: str
    embeddings: list[np.ndarray] = field(default_factory=list)
    labels: list[int | None] = field(default_factory=list)
    origins: list[str | None] = field(default_factory=list)

    def add(self, embeddings: np.ndarray, labels: torch.Tensor | None, origins: list[str] | None) -> None:
        n = len(embeddings)
        self.embeddings.append(embeddings)
        self.labels += labels.tolist() if labels is not None else [None] * n
        self.origins += origins if origins is not None else [None] * n


def write_embeddings(target: Path, splits: list[EmbeddedRows], class_names: tuple[str, ...] = ()) -> Path:
    """Write the embeddings of each split to `target`: .npy (the array alone) or .parquet
    (split, index in the split, where the row came from, label, class name, embedding)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".npy":
        np.save(target, np.concatenate([e for rows in splits for e in rows.embeddings]))
    elif target.suffix == ".parquet":
        write_parquet(target, splits, class_names)
    else:
        raise ConfigError(f"--out {target}: expected a .npy or .parquet file name")
    return target


def write_parquet(target: Path, splits: list[EmbeddedRows], class_names: tuple[str, ...]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise MaskfuseError("writing .parquet needs pyarrow: pip install 'maskfuse[parquet]'") from e
    columns: dict[str, list] = {"split": [], "index": [], "origin": [], "label": [], "class": [], "embedding": []}
    for rows in splits:
        n = len(rows.labels)
        columns["split"] += [rows.split] * n
        columns["index"] += list(range(n))
        columns["origin"] += rows.origins
        columns["label"] += rows.labels
        columns["class"] += [class_names[y] if y is not None and class_names else None for y in rows.labels]
        columns["embedding"] += [row.tolist() for e in rows.embeddings for row in e]
    tmp = target.with_name(f".{target.name}.tmp")
    pq.write_table(pa.table(columns), tmp)
    tmp.replace(target)
