"""The "motion-table" source: long tables of joint positions give the same sequences as
the "motion" archive source, in any row order; bad tables are named by file, row, column."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import load_data
from maskfuse.errors import DataError

MSR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "msr-action3d" / "msr_action3d_skeleton.npz"


def write_table(path: Path, seqs: list[np.ndarray], labels: list[str], split: list[str], seed: int = 0) -> Path:
    """One row per joint per frame: the last row of each sequence first, in sequence order
    (ids keep the order they first appear in), then every other row shuffled."""
    rows = [
        {"id": f"s{i}", "frame": t, "joint": j, "x": p[0], "y": p[1], "z": p[2], "label": labels[i], "split": split[i]}
        for i, seq in enumerate(seqs) for t, frame in enumerate(seq) for j, p in enumerate(frame)
    ]  # fmt: skip
    firsts = [max(k for k, r in enumerate(rows) if r["id"] == f"s{i}") for i in range(len(seqs))]
    rest = np.setdiff1d(np.arange(len(rows)), firsts)
    order = [*firsts, *np.random.default_rng(seed).permutation(rest)]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows[i] for i in order)
    return path


def both(path_npz: Path, path_csv: Path):
    archive = load_data(resolve(overrides=["data.name=motion", f"data.path={path_npz}"]).data)
    cfg = resolve(overrides=["data.name=motion-table", f"data.path={path_csv}", "data.split_column=split"])
    return archive, load_data(cfg.data, run=cfg)


def same(a, b) -> None:
    for x, y in ((a.train, b.train), (a.test, b.test)):
        assert torch.equal(x.inputs.nan_to_num(-9), y.inputs.nan_to_num(-9)) and torch.equal(x.labels, y.labels)
    assert a.spec == b.spec


def sequences(count: int = 12, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(rng.integers(3, 9)), 4, 3)).astype(np.float32) for _ in range(count)]


def test_a_shuffled_table_reads_as_the_archive_does(tmp_path):
    seqs = sequences()
    labels = ["walk", "wave", "jump"] * 4
    split = ["train"] * 9 + ["test"] * 3
    frames, offsets = np.concatenate(seqs), np.r_[0, np.cumsum([len(s) for s in seqs])]
    classes = np.asarray(sorted(set(labels)))
    np.savez(tmp_path / "m.npz", frames=frames, offsets=offsets, labels=np.searchsorted(classes, labels),
             classes=classes, split=np.asarray(split))  # fmt: skip
    archive, table = both(tmp_path / "m.npz", write_table(tmp_path / "m.csv", seqs, labels, split))
    same(archive, table)
    assert table.spec.class_names == ("jump", "walk", "wave") and len(table.test) == 3


@pytest.mark.skipif(not MSR.is_file(), reason="needs ../shared/data/msr-action3d")
def test_msr_sequences_through_a_table(tmp_path):
    with np.load(MSR) as z:
        frames, offsets, labels, subjects = z["frames"], z["offsets"], z["labels"], z["subjects"]
    pick = range(0, 567, 14)  # 41 real sequences
    seqs = [frames[offsets[i] : offsets[i + 1]] for i in pick]
    names, split = [str(labels[i]) for i in pick], ["train" if subjects[i] % 2 else "test" for i in pick]
    classes = np.asarray(sorted(set(names)))
    np.savez(tmp_path / "m.npz", frames=np.concatenate(seqs), offsets=np.r_[0, np.cumsum([len(s) for s in seqs])],
             labels=np.searchsorted(classes, names), classes=classes, split=np.asarray(split))  # fmt: skip
    same(*both(tmp_path / "m.npz", write_table(tmp_path / "m.csv", seqs, names, split)))


def table(tmp_path: Path, text: str, *overrides: str):
    (tmp_path / "t.csv").write_text(text)
    cfg = resolve(overrides=["data.name=motion-table", f"data.path={tmp_path / 't.csv'}", *overrides])
    return load_data(cfg.data, run=cfg)


GOOD = "id,frame,joint,x,y,z,label\n" + "".join(
    f"{s},{t},{j},{s}.{t},{j}.5,1,{'ab'[s % 2]}\n" for s in range(4) for t in range(3) for j in range(2)
)


@pytest.mark.parametrize(
    "change, message",
    [
        (("0,1,1,0.1,1.5,1,a", "0,1,1,0.1,,1,a"), r"t.csv, row 5, column 'y': missing or NaN"),
        (("0,1,1,0.1,1.5,1,a", "0,1,1.5,0.1,1.5,1,a"), r"t.csv, row 5, column 'joint': joint 1.5; expected a whole"),
        (("0,1,1,0.1,1.5,1,a", "0,1,0,0.1,1.5,1,a"), r"sequence '0' gives joint 0 of frame 1 twice"),
        (("0,1,1,0.1,1.5,1,a\n", ""), r"row 4: frame 1 of sequence '0' has 1 joints; the table's frames have 2"),
        (("0,1,1,0.1,1.5,1,a", "0,1,1,0.1,1.5,1,b"), r"row 5: sequence '0' has two labels, 'a' and 'b'"),
        (("id,", "seq,"), r"t.csv: no column 'id'; columns: seq, frame"),
    ],
)
def test_bad_tables_are_named(tmp_path, change, message):
    assert change[0] in GOOD
    with pytest.raises(DataError, match=message):
        table(tmp_path, GOOD.replace(change[0], change[1], 1), "data.test_fraction=0.5")


def test_a_good_table_and_other_column_names(tmp_path):
    splits = table(tmp_path, GOOD, "data.test_fraction=0.5")
    assert splits.spec.shape == (3, 3, 2) and splits.spec.class_names == ("a", "b")
    renamed = GOOD.replace("frame,joint,x,y,z", "t,bone,px,py,pz")
    other = table(tmp_path, renamed, "data.test_fraction=0.5", "motion.frame_column=t", "motion.joint_column=bone",
                  "motion.xyz_columns=[px,py,pz]")  # fmt: skip
    assert torch.equal(other.train.inputs, splits.train.inputs)
