"""The data source "motion": skeleton sequences from an .npz archive.

Two layouts, by their array names:
- `frames` [F, J, 3] with `offsets` [N + 1] (sequence i is frames[offsets[i]:offsets[i+1]],
  MSR Action3D's packing); or
- `motion` [N, T, J, 3], padded at the end with NaN frames.

Optional: `labels` [N] (ids or names), `classes`, `split` [N] (train / test per sequence,
e.g. a cross-subject split). Sequences are held as [3, T, J], centred on their mean joint
position (so a probe sees pose and movement, not where the subject stood) and padded at
the end with NaN to the longest; the tokenizer resamples them. A sequence whose
coordinates are all zero (a failed capture, like MSR Action3D's a13_s09_e02) is dropped
and named in the run's data notes; NaN inside a sequence is an error naming it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from maskfuse.config import DataConfig
from maskfuse.data.arrays import npz_arrays
from maskfuse.data.base import ArrayDataset, Splits, class_count, source_path
from maskfuse.data.npz_layout import layout
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec


def sequences(z: dict, path: Path) -> list[np.ndarray]:
    """Every sequence [T, J, 3] float32 of the archive, padding frames removed."""
    if "frames" in z and "offsets" in z:
        frames, offsets = np.asarray(z["frames"][()]), np.asarray(z["offsets"][()])
        if frames.ndim != 3 or frames.shape[2] != 3:
            raise DataError(f"{path}: 'frames' must be [F, J, 3] joint coordinates, got {list(frames.shape)}")
        if offsets.ndim != 1 or offsets[0] != 0 or offsets[-1] != len(frames) or (np.diff(offsets) < 1).any():
            raise DataError(f"{path}: 'offsets' must rise from 0 to {len(frames)} (the frame count), one step "
                            "per sequence, each of at least one frame")  # fmt: skip
        return [frames[a:b].astype(np.float32) for a, b in zip(offsets[:-1], offsets[1:])]
    if "motion" in z:
        padded = np.asarray(z["motion"][()], np.float32)
        if padded.ndim != 4 or padded.shape[3] != 3:
            raise DataError(f"{path}: 'motion' must be [N, T, J, 3] joint coordinates, got {list(padded.shape)}")
        out = []
        for i, seq in enumerate(padded):
            seen = ~np.isnan(seq).all(axis=(1, 2))
            length = int(seen.sum())
            if length == 0 or not seen[:length].all():
                raise DataError(f"{path}: 'motion' sequence {i} has no frames or padding frames before real ones")
            out.append(seq[:length])
        return out
    raise DataError(f"{path}: holds {sorted(z)}; expected 'frames' with 'offsets', or a padded 'motion' array")


@DATASETS.register("motion")
def load(cfg: DataConfig) -> Splits:
    """Skeleton sequences with optional labels and split (else a seeded split)."""
    path = source_path(cfg.path, ".npz of skeleton sequences", "motion", folder=False)
    z, notes = npz_arrays(path, cfg.memory_mb)
    return motion_splits(z, path, cfg, notes)


def motion_splits(z: dict, path: Path, cfg: DataConfig, notes: list[str]) -> Splits:
    """Both splits of the sequences held in the arrays `z` (as an archive holds them; errors
    name `path`): centred, all-zero ones dropped, labels and split as `layout` finds them."""
    seqs = sequences(z, path)
    for i, seq in enumerate(seqs):
        if not np.isfinite(seq).all():
            raise DataError(f"{path}: sequence {i} holds NaN or infinite coordinates")
    if len({s.shape[1] for s in seqs}) != 1:
        raise DataError(f"{path}: sequences have different joint counts {sorted({s.shape[1] for s in seqs})}")
    empty = [i for i, s in enumerate(seqs) if not s.any()]
    if empty:
        notes.append(f"dropped {len(empty)} all-zero sequences (a failed capture): {empty[:10]}")
    index = {"sequences": np.zeros(len(seqs))}  # a stand-in input array, for the layout's row checks
    named = {**z, **index}
    plan = layout(named, cfg.arrays, path, cfg.test_fraction, cfg.split_seed, {"sequences": lambda key: ()})
    longest = max(len(s) for s in seqs)
    joints = seqs[0].shape[1]

    dropped = set(empty)

    def split(part) -> ArrayDataset:
        rows = [int(r) for r in part.rows if int(r) not in dropped]
        x = np.full((len(rows), 3, longest, joints), np.nan, np.float32)
        for k, r in enumerate(rows):
            seq = seqs[r] - seqs[r].reshape(-1, 3).mean(0)
            x[k, :, : len(seq)] = seq.transpose(2, 0, 1)
        labels = None if part.labels is None else torch.as_tensor(part.labels[rows])
        return ArrayDataset(torch.from_numpy(x), labels, "motion")

    train, test = split(plan.train), split(plan.test)
    seen = train.inputs.permute(1, 0, 2, 3).reshape(3, -1)
    mean = tuple(float(v) for v in np.nanmean(seen.numpy(), axis=1))
    std = tuple(max(float(v), 1e-3) for v in np.nanstd(seen.numpy(), axis=1))
    num_classes = len(plan.class_names) or class_count(train.labels, test.labels)
    spec = DataSpec("motion", (3, longest, joints), mean, std, num_classes, plan.class_names)
    return Splits(train, test, spec, f"motion ({path})", notes + plan.notes)


def contract_example() -> tuple[Splits, list[str]]:
    """Small synthetic motion for the contract tests: 48 sequences of 8 joints and 6 to 16
    frames (NaN-padded), waving one of 3 ways, and settings that keep them cheap."""
    rng = np.random.default_rng(0)
    x = np.full((48, 3, 16, 8), np.nan, np.float32)
    for i in range(48):
        t = np.arange(6 + i % 11)
        wave = np.sin(t[:, None] * (0.3 + 0.4 * (i % 3)) + np.arange(8)[None])  # [T, J]
        x[i, :, : len(t)] = np.stack([wave, wave * (i % 3 - 1), np.cos(wave)]) + 0.05 * rng.normal(size=(3, len(t), 8))
    labels = torch.as_tensor(np.arange(48) % 3)
    inputs = torch.as_tensor(x)
    spec = DataSpec("motion", (3, 16, 8), (0.0,) * 3, (1.0,) * 3, 3, ("slow", "mid", "fast"))
    train, test = ArrayDataset(inputs[:32], labels[:32], "motion"), ArrayDataset(inputs[32:], labels[32:], "motion")
    return Splits(train, test, spec, "synthetic motion"), ["motion.frames=8", "motion.group_joints=4"]
