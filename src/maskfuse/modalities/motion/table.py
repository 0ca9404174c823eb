"""The data source "motion-table": skeleton sequences from a long table (CSV, TSV, Parquet;
.csv may be .gz / .bz2), one row per joint per frame.

Columns: data.id_column (the sequence), motion.frame_column (its frame number; frames are
put in that order), motion.joint_column (the joint, 0 to J - 1) and the three coordinates
motion.xyz_columns; optional data.label_column (one label per sequence) and
data.split_column (train / test per sequence), else a seeded split. Rows may come in any
order; sequences are numbered in the order their ids first appear. The sequences then go
where the "motion" source's arrays go (centred, all-zero ones dropped and named), so both
sources give the same tensors for the same motion.

Errors name the file, row and column: a missing or non-numeric cell, a joint number that is
not a whole number from 0, NaN coordinates, a joint given twice in one frame, a frame
missing joints, and a sequence with two labels or two split markers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskfuse.config import Config, DataConfig
from maskfuse.data.base import Splits, source_path
from maskfuse.data.columns import TableFile
from maskfuse.data.table_encoding import numbers_of
from maskfuse.errors import DataError
from maskfuse.modalities.motion.settings import Settings
from maskfuse.modalities.motion.source import motion_splits
from maskfuse.registry import DATASETS


def read_rows(table: TableFile, cfg: DataConfig, m: Settings) -> dict[str, np.ndarray | list]:
    """Every row's sequence code, frame, joint, coordinates and (when there are such columns)
    label and split cells, with the sequence ids in the order first met."""
    numeric = (m.frame_column, m.joint_column, *m.xyz_columns)
    extra = [c for c in (cfg.label_column, cfg.split_column) if c and c in table.names]
    for column in (cfg.id_column, *numeric, *([cfg.split_column] if cfg.split_column else [])):
        if column not in table.names:
            raise DataError(f"{table.path}: no column '{column}'; columns: {', '.join(table.names)}")
    ids: dict = {}
    out: dict[str, list] = {"seq": [], **{c: [] for c in numeric}, **{c: [] for c in extra}}
    done = 0
    for chunk in table.chunks():
        out["seq"].append(chunk[cfg.id_column].codes(ids))
        for c in numeric:
            values = numbers_of(chunk[c], True, lambda i, c=c, f=done: f"{table.row_name(f + i)}, column '{c}'")
            if np.isnan(values).any():
                row = done + int(np.isnan(values).argmax())
                raise DataError(f"{table.row_name(row)}, column '{c}': missing or NaN; every row needs a number")
            out[c].append(values)
        for c in extra:
            out[c].extend(chunk[c].cells)
        done += len(chunk[cfg.id_column])
    if not done:
        raise DataError(f"{table.path}: holds a header and no rows")
    rows = {k: (np.concatenate(v) if k == "seq" or k in numeric else v) for k, v in out.items()}
    rows["ids"] = list(ids)
    return rows


def per_sequence(cells: list, seq: np.ndarray, order: np.ndarray, ids: list, what: str, table: TableFile) -> list:
    """The one value of `cells` in each sequence, in sequence order (a second value is an error)."""
    first: dict[int, object] = {}
    for r in order:
        s, cell = int(seq[r]), cells[r]
        if first.setdefault(s, cell) != cell:
            raise DataError(f"{table.row_name(int(r))}: sequence '{ids[s]}' has two {what}s, "
                            f"'{first[s]}' and '{cell}'")  # fmt: skip
    return [first[s] for s in range(len(ids))]


def arrays(path: Path, cfg: DataConfig, m: Settings) -> dict[str, np.ndarray]:
    """The table as the "motion" source's arrays: `frames` [F, J, 3], `offsets`, and
    `labels` / `classes` / `split` where the table has them."""
    table = TableFile(path)
    rows = read_rows(table, cfg, m)
    seq, frame, joint = rows["seq"], rows[m.frame_column], rows[m.joint_column]
    bad = (joint != np.round(joint)) | (joint < 0)
    if bad.any():
        raise DataError(f"{table.row_name(int(bad.argmax()))}, column '{m.joint_column}': joint {joint[bad.argmax()]}; "
                        "expected a whole number from 0")  # fmt: skip
    joints = int(joint.max()) + 1
    order = np.lexsort((joint, frame, seq))  # by sequence, then frame, then joint
    key = np.stack([seq[order], frame[order], joint[order]], 1)
    twice = (np.diff(key, axis=0) == 0).all(1)
    if twice.any():
        r = int(order[int(twice.argmax()) + 1])
        raise DataError(f"{table.row_name(r)}: sequence '{rows['ids'][int(seq[r])]}' gives joint {int(joint[r])} of "
                        f"frame {frame[r]:g} twice")  # fmt: skip
    new_frame = np.flatnonzero(np.r_[True, (np.diff(key[:, :2], axis=0) != 0).any(1)])  # first row of each frame
    sizes = np.diff(np.r_[new_frame, len(key)])
    if (sizes != joints).any():
        short = int((sizes != joints).argmax())
        r = int(order[new_frame[short]])
        raise DataError(f"{table.row_name(r)}: frame {frame[r]:g} of sequence '{rows['ids'][int(seq[r])]}' has "
                        f"{int(sizes[short])} joints; the table's frames have {joints}")  # fmt: skip
    xyz = np.stack([rows[c][order] for c in m.xyz_columns], 1).astype(np.float32).reshape(-1, joints, 3)
    frame_seq = key[new_frame, 0]
    out = {"frames": xyz, "offsets": np.r_[0, np.cumsum(np.bincount(frame_seq.astype(np.int64)))]}
    if cfg.label_column and cfg.label_column in rows:
        labels = [str(v) for v in per_sequence(rows[cfg.label_column], seq, order, rows["ids"], "label", table)]
        out["classes"] = np.asarray(sorted(set(labels)))
        out["labels"] = np.searchsorted(out["classes"], labels)
    if cfg.split_column:
        out["split"] = np.asarray([str(v) for v in per_sequence(rows[cfg.split_column], seq, order, rows["ids"],
                                                                  "split marker", table)])  # fmt: skip
    return out


def load(cfg: DataConfig, run: Config) -> Splits:
    """Skeleton sequences from a long table, with optional labels and split."""
    path = source_path(cfg.path, "table of joint positions (.csv, .tsv, .parquet)", "motion-table", folder=False)
    return motion_splits(arrays(path, cfg, run.motion), path, cfg, [])


load.reads_run = True  # load_data hands this source the run's config, for motion's column names
DATASETS.register("motion-table")(load)
