"""Archives whose arrays carry other names: the user names them, nothing is guessed."""

import numpy as np
import pytest

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.errors import DataError

CLASSES = np.array(["circle", "square", "star"])


def archive(tmp_path, inputs: np.ndarray, labels: np.ndarray, name: str = "other.npz", **extra) -> str:
    n = len(inputs)
    split = np.array(["train", "test", "train", "Val"] * (n // 4))  # strings, any case
    path = tmp_path / name
    np.savez(path, X=inputs, y=labels, split=split, classes=CLASSES, **extra)
    return str(path)


def load(path: str, *overrides: str):
    return load_data(resolve(data_settings=data_overrides(path), overrides=list(overrides)).data)


def test_images_named_otherwise_with_string_labels_and_a_split_array(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.choice(CLASSES, 40)
    path = archive(tmp_path, rng.integers(0, 255, (40, 8, 8), dtype=np.uint8), y)
    with pytest.raises(DataError, match=r"no 'images' or 'series' array; found \['X', 'classes', 'split', 'y'\]"):
        load(path)
    s = load(path, "data.arrays=[images:X,labels:y,split:split]")
    assert s.spec.modality == "image" and s.spec.class_names == ("circle", "square", "star")
    assert len(s.train) == 20 and len(s.test) == 20  # train / test / train / Val per row
    names = np.array(s.spec.class_names)
    assert sorted(names[s.train.labels.numpy()].tolist()) == sorted(y[0::2].tolist())
    assert "the 'split' array gives the split (20 train, 20 test)" in s.notes[0]


def test_series_named_otherwise_with_integer_labels_and_a_classes_array(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 24)
    series = rng.normal(size=(24, 2, 30)).astype(np.float32) + y[:, None, None]
    path = archive(tmp_path, series, y)
    s = load(path, "data.arrays=[series:X,labels:y,split:split,classes:classes]")
    assert s.spec.modality == "timeseries" and s.spec.shape == (2, 30)
    assert s.spec.class_names == ("circle", "square", "star") and len(s.train) == 12


@pytest.mark.parametrize(
    ("setting", "message"),
    [("data.arrays=[pictures:X]", "'pictures:X' should be role:array"),
     ("data.arrays=[images:Z]", r"names 'Z' as images, but the archive holds \['X', 'classes', 'split', 'y'\]"),
     ("data.arrays=[images:X,labels:classes]", r"'classes' \(labels\) must be a vector of 8 labels")],
)  # fmt: skip
def test_naming_errors_say_what_is_expected(tmp_path, setting, message):
    path = archive(tmp_path, np.zeros((8, 4, 4), np.uint8), np.zeros(8, np.int64))
    with pytest.raises(DataError, match=message):
        load(path, setting)


def test_bad_split_markers_and_unknown_class_names_are_named(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.zeros((4, 4, 4), np.uint8), y=np.array(["a", "b", "a", "b"]),
             split=np.array(["train", "test", "holdout", "train"]), classes=np.array(["a", "c"]))  # fmt: skip
    with pytest.raises(DataError, match="'split' row 2: split marker 'holdout'; expected train, test or val"):
        load(str(path), "data.arrays=[images:X,split:split]")
    with pytest.raises(DataError, match="'y' holds the label 'b', which the class names do not list"):
        load(str(path), "data.arrays=[images:X,labels:y,classes:classes]")
    np.savez(path, X=np.zeros((4, 4, 4), np.uint8), y=np.array([0, 1, 2, 1]), classes=np.array(["a", "b"]))
    with pytest.raises(DataError, match="'y' holds class id 2, but there are 2 class names"):
        load(str(path), "data.arrays=[images:X,labels:y,classes:classes]")
