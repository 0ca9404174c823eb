"""Paired multimodal data: aligned samples of several modalities, some possibly missing.

A `PairedDataset` holds one tensor per modality (absent cells filled with zeros) and a
presence table [N, M]. Batches carry that table as `batch["present"]`, columns in the
order of `spec.parts`, so every objective can leave absent modalities out. `part`
views one modality's present rows as an ordinary single-modality dataset, which is how
probes, k-NN and `maskfuse embed` see a multimodal run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import torch

from maskfuse.data.base import ArrayDataset, DataSpec, Splits
from maskfuse.errors import DataError


@dataclass
class PairedDataset:
    """Aligned rows of several modalities with per-modality presence flags.

    Attributes:
        parts: Modality name -> inputs [N, ...]; rows where it is absent hold zeros.
        present: [N, M] bool, column j for the j-th name of `parts`.
        labels: [N] int64 class of each row, or None.
    """

    parts: dict[str, torch.Tensor]
    present: torch.Tensor
    labels: torch.Tensor | None = None
    in_memory: ClassVar[bool] = True

    def __post_init__(self) -> None:
        n = self.present.shape[0]
        if self.present.shape != (n, len(self.parts)):
            raise DataError(f"presence table {list(self.present.shape)} does not fit {len(self.parts)} modalities")
        for name, x in self.parts.items():
            if x.shape[0] != n:
                raise DataError(f"modality '{name}' has {x.shape[0]} rows, the presence table {n}")
        empty = ~self.present.any(1)
        if bool(empty.any()):
            raise DataError(f"row {int(empty.nonzero()[0])} has no modality present")

    @property
    def names(self) -> list[str]:
        return list(self.parts)

    def __len__(self) -> int:
        return self.present.shape[0]

    def head(self, rows: int) -> PairedDataset:
        labels = None if self.labels is None else self.labels[:rows]
        return PairedDataset({k: v[:rows] for k, v in self.parts.items()}, self.present[:rows], labels)

    def batch(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {name: x[index] for name, x in self.parts.items()}
        out["present"] = self.present[index]
        if self.labels is not None:
            out["label"] = self.labels[index]
        return out

    def rows_of(self, name: str) -> torch.Tensor:
        """Indices of the rows where `name` is present."""
        return self.present[:, self.names.index(name)].nonzero().squeeze(1)

    def part(self, name: str, modality: str) -> ArrayDataset:
        """One modality's present rows as a single-modality dataset (batch key `modality`)."""
        rows = self.rows_of(name)
        labels = None if self.labels is None else self.labels[rows]
        return ArrayDataset(self.parts[name][rows], labels, modality)


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
