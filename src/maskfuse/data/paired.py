"""Paired multimodal data: aligned samples of several modalities, some possibly missing.

A `PairedDataset` holds one tensor per modality (absent cells filled with zeros), or a
`LazyRows` column of files decoded on demand (absent rows decode to zeros), and a
presence table [N, M]. Batches carry that table as `batch["present"]`, columns in the
order of `spec.parts`, so every objective can leave absent modalities out. `part`
views one modality's present rows as an ordinary single-modality dataset, which is how
probes, k-NN and `maskfuse embed` see a multimodal run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from maskfuse.data.base import ArrayDataset, Splits
from maskfuse.data.ondemand import LazyRows
from maskfuse.errors import DataError
from maskfuse.types import DataSpec


@dataclass
class PairedDataset:
    """Aligned rows of several modalities with per-modality presence flags.

    Attributes:
        parts: Modality name -> inputs [N, ...] (or files decoded on demand); rows where
            it is absent hold zeros.
        present: [N, M] bool, column j for the j-th name of `parts`.
        labels: [N] int64 class of each row, or None.
    """

    parts: dict[str, torch.Tensor | LazyRows]
    present: torch.Tensor
    labels: torch.Tensor | None = None

    def __post_init__(self) -> None:
        n = self.present.shape[0]
        if self.present.shape != (n, len(self.parts)):
            raise DataError(f"presence table {list(self.present.shape)} does not fit {len(self.parts)} modalities")
        for name, x in self.parts.items():
            if len(x) != n:
                raise DataError(f"modality '{name}' has {len(x)} rows, the presence table {n}")
        empty = ~self.present.any(1)
        if bool(empty.any()):
            raise DataError(f"row {int(empty.nonzero()[0])} has no modality present")

    @property
    def names(self) -> list[str]:
        return list(self.parts)

    @property
    def in_memory(self) -> bool:
        """False while a modality's files are decoded on demand (manifests)."""
        return all(torch.is_tensor(x) for x in self.parts.values())

    def __len__(self) -> int:
        return self.present.shape[0]

    def head(self, rows: int) -> PairedDataset:
        return self.take(np.arange(min(rows, len(self))))

    def take(self, rows: np.ndarray) -> PairedDataset:
        """The rows at positions `rows`, in that order (files still on demand)."""
        i = torch.as_tensor(rows, dtype=torch.int64)
        labels = None if self.labels is None else self.labels[i]
        parts = {k: v[i] if torch.is_tensor(v) else v.take(rows) for k, v in self.parts.items()}
        return PairedDataset(parts, self.present[i], labels)

    def decoded(self) -> PairedDataset:
        """Every modality decoded, in memory."""
        parts = {k: v if torch.is_tensor(v) else v.decoded().inputs for k, v in self.parts.items()}
        return PairedDataset(parts, self.present, self.labels)

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {name: x[index] if torch.is_tensor(x) else x.inputs(index.numpy()) for name, x in self.parts.items()}
        out["present"] = self.present[index]
        if self.labels is not None:
            out["label"] = self.labels[index]
        return out

    def rows_of(self, name: str) -> torch.Tensor:
        """Indices of the rows where `name` is present."""
        return self.present[:, self.names.index(name)].nonzero().squeeze(1)

    def part(self, name: str, modality: str) -> ArrayDataset | LazyRows:
        """One modality's present rows as a single-modality dataset (batch key `modality`),
        still on demand when its files are."""
        rows, x = self.rows_of(name), self.parts[name]
        labels = None if self.labels is None else self.labels[rows]
        if torch.is_tensor(x):
            return ArrayDataset(x[rows], labels, modality)
        return replace(x, rows=x.rows[rows.numpy()], labels=labels, modality=modality)


def part_splits(splits: Splits, name: str) -> Splits:
    """The single-modality splits of one modality of paired data (its present rows)."""
    spec = replace(splits.spec.parts[name], num_classes=splits.spec.num_classes, class_names=splits.spec.class_names)
    train, test = splits.train.part(name, spec.modality), splits.test.part(name, spec.modality)
    return Splits(train, test, spec, f"{splits.source}: {name}", splits.notes)


def paired_spec(parts: dict[str, DataSpec], class_names: tuple[str, ...]) -> DataSpec:
    """The spec of paired data: one part per modality, classes shared by all."""
    for name in parts:
        if not name.isidentifier():
            raise DataError(f"modality name '{name}' must be a plain identifier (letters, digits, _)")
    return DataSpec("paired", (), (), (), len(class_names) or None, class_names, {}, dict(parts))


def primary_splits(splits: Splits) -> Splits:
    """The splits a single-modality monitor or picture can use: the first modality of
    paired data, or the splits themselves."""
    return part_splits(splits, next(iter(splits.spec.parts))) if splits.spec.parts else splits
