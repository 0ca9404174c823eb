"""What `maskfuse embed` writes: a .npy array, or a .parquet table with each row's identity."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskfuse.errors import MaskfuseError


def write_embeddings(target: Path, embeddings: list[np.ndarray], labels: list, names: list[str]) -> Path:
    """Write the embeddings of each split in `names` to `target` (.npy or .parquet)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".npy":
        np.save(target, np.concatenate(embeddings))
    elif target.suffix == ".parquet":
        write_parquet(target, embeddings, labels, names)
    else:
        raise MaskfuseError(f"--out {target}: expected a .npy or .parquet file name")
    return target


def write_parquet(target: Path, embeddings: list, labels: list, names: list[str]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise MaskfuseError("writing .parquet needs pyarrow: pip install 'maskfuse[parquet]'") from e
    columns: dict[str, list] = {"split": [], "index": [], "label": [], "embedding": []}
    for emb, split_labels, name in zip(embeddings, labels, names):
        columns["split"] += [name] * len(emb)
        columns["index"] += list(range(len(emb)))
        columns["label"] += split_labels
        columns["embedding"] += [row.tolist() for row in emb]
    tmp = target.with_name(f".{target.name}.tmp")
    pq.write_table(pa.table(columns), tmp)
    tmp.replace(target)
