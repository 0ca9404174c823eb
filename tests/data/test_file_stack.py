"""A folder of files as an array: listing with class labels, the shuffled seeded split, and
row-by-row reading."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from maskfuse.config import DataConfig
from maskfuse.data.file_stack import FileStack, class_labels, folder_layout, labelled_files
from maskfuse.errors import DataError


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_files_are_listed_sorted_with_their_class_folders(tmp_path):
    for name in ("b/2.OFF", "a/1.off", "a/deep/3.ply", "b/skip.txt"):
        touch(tmp_path / name)
    paths, y, classes = labelled_files(tmp_path, (".off", ".ply"), "meshes")
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["a/1.off", "a/deep/3.ply", "b/2.OFF"]
    assert classes == ("a", "a/deep", "b") and y.tolist() == [0, 1, 2]
    flat = [touch(tmp_path / "flat" / f"{i}.off") for i in range(3)]
    assert class_labels(flat, tmp_path / "flat") == (None, ())
    with pytest.raises(DataError, match=r"flat: holds no scans \(.xyz\)"):
        labelled_files(tmp_path / "flat", (".xyz",), "scans")


def test_the_split_is_seeded_stratified_and_shuffled():
    y = np.repeat([0, 1], 20)  # files sorted by class
    cfg = DataConfig(test_fraction=0.25, split_seed=3)
    plan = folder_layout("x", 40, y, ("a", "b"), cfg, "here")
    train, test = plan.train.rows, plan.test.rows
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(40))
    assert np.bincount(y[test]).tolist() == [5, 5]
    assert set(y[train[:6]].tolist()) == {0, 1}  # the first rows (data.max_train) hold both classes
    again = folder_layout("x", 40, y, ("a", "b"), cfg, "here")
    assert np.array_equal(again.train.rows, train)
    assert plan.class_names == ("a", "b") and plan.train.key == "x"


def row_and_name(path: Path, row: int) -> np.ndarray:
    return np.array([row, len(path.name)], np.float32)


def test_a_stack_reads_the_rows_asked_in_their_order(tmp_path):
    paths = [touch(tmp_path / n) for n in ("a", "bb", "ccc")]
    stack = FileStack(paths, (2,), row_and_name)
    assert stack.shape == (3, 2) and stack.ndim == 2 and len(stack) == 3
    assert stack[np.array([2, 0])].tolist() == [[2, 3], [0, 1]]
    assert stack.origin(np.array([1])) == [str(paths[1])]
    assert pickle.loads(pickle.dumps(stack))[np.array([1])].tolist() == [[1, 2]]  # DataLoader workers
