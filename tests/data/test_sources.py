import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from maskfuse.config import DataConfig
from maskfuse.data import data_overrides, load_data
from maskfuse.data.fashion_mnist import read_idx
from maskfuse.errors import DataError
from tests.conftest import FASHION, require_fashion_mnist


def test_digits_split_is_fixed_and_stratified():
    a, b = load_data(DataConfig()), load_data(DataConfig())
    assert torch.equal(a.test.inputs, b.test.inputs)
    assert a.spec.shape == (1, 8, 8) and a.spec.num_classes == 10
    assert len(a.train) + len(a.test) == 1797 and len(a.test) == 360
    counts = torch.bincount(a.test.labels)
    assert counts.min() >= 35 and counts.max() <= 37  # stratified: ~36 per class
    assert float(a.train.inputs.min()) >= 0.0 and float(a.train.inputs.max()) <= 1.0


def test_caps_apply():
    s = load_data(DataConfig(max_train=100, max_test=50))
    assert len(s.train) == 100 and len(s.test) == 50


def test_fashion_mnist_real_files():
    require_fashion_mnist()
    s = load_data(DataConfig(name="fashion-mnist", max_train=500, max_test=200))
    assert s.spec.shape == (1, 28, 28) and len(s.train) == 500 and len(s.test) == 200
    assert s.spec.class_names[0] == "t-shirt"
    assert set(s.train.labels.tolist()) == set(range(10))


def _write_idx(path, arr):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))


def test_idx_reader_and_truncated_file(tmp_path):
    arr = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", arr)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), arr)
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())
    (tmp_path / "b").write_bytes(raw[:-5])
    with pytest.raises(DataError, match=r"b: holds 19 bytes of data, header promises 24"):
        read_idx(tmp_path / "b")


def test_fashion_mnist_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_data(DataConfig(name="fashion-mnist", path=str(tmp_path / "nope")))
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_data(DataConfig(name="fashion-mnist", path=str(tmp_path)))


def test_npz_with_and_without_own_split(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (40, 3, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", images=imgs, labels=np.arange(40) % 4)
    s = load_data(DataConfig(name="npz", path=str(tmp_path / "a.npz"), test_fraction=0.25))
    assert s.spec.shape == (3, 8, 8) and len(s.test) == 10 and s.spec.num_classes == 4
    assert float(s.train.inputs.max()) <= 1.0
    np.savez(tmp_path / "b.npz", images=imgs[:, 0], test_images=imgs[:5, 0])
    s = load_data(DataConfig(name="npz", path=str(tmp_path / "b.npz")))
    assert s.spec.shape == (1, 8, 8) and len(s.test) == 5 and s.train.labels is None


def test_truncated_npz_names_the_file(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((10, 8, 8), np.uint8))
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut.npz: not a readable .npz archive"):
        load_data(DataConfig(name="npz", path=str(tmp_path / "cut.npz")))


def test_npz_wrong_channel_count(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((10, 8, 8), np.uint8))
    with pytest.raises(DataError, match=r"a.npz: 'images' has 1 channels, data.channels expects 3"):
        load_data(DataConfig(name="npz", path=str(tmp_path / "a.npz"), channels=3))


def test_npz_bad_labels_and_nan(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((10, 8, 8), np.float32), labels=np.zeros(9, int))
    with pytest.raises(DataError, match="'labels' must be a vector of 10 labels"):
        load_data(DataConfig(name="npz", path=str(tmp_path / "a.npz")))
    bad = np.zeros((10, 8, 8), np.float32)
    bad[3, 2, 2] = np.nan
    np.savez(tmp_path / "b.npz", images=bad)
    with pytest.raises(DataError, match="NaN"):
        load_data(DataConfig(name="npz", path=str(tmp_path / "b.npz")))


def _folder(tmp_path, classes=("cat", "dog"), n=6, size=(8, 8), mode="RGB"):
    for c in classes:
        (tmp_path / c).mkdir()
        for i in range(n):
            arr = np.full((*size, 3), 40 * i, np.uint8)
            Image.fromarray(arr).convert(mode).save(tmp_path / c / f"{i}.png")
    return tmp_path


def test_image_folder_labels_from_subfolders(tmp_path):
    _folder(tmp_path)
    s = load_data(DataConfig(name="image-folder", path=str(tmp_path), test_fraction=0.25))
    assert s.spec.shape == (3, 8, 8) and s.spec.class_names == ("cat", "dog")
    assert len(s.train) + len(s.test) == 12
    assert set(s.train.labels.tolist()) == {0, 1}


def test_flat_image_folder_is_unlabeled_and_resizes(tmp_path):
    """Mixed sizes are resized to the commonest (8x8 here), or to data.image_size."""
    for i, size in enumerate([(8, 8), (10, 12), (8, 8), (16, 16)]):
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(tmp_path / f"{i}.jpg")
    mixed = load_data(DataConfig(name="image-folder", path=str(tmp_path), test_fraction=0.5))
    assert mixed.spec.shape == (3, 8, 8) and "all are resized to 8x8, the commonest" in mixed.notes[0]
    s = load_data(DataConfig(name="image-folder", path=str(tmp_path), image_size=6, test_fraction=0.5))
    assert s.train.labels is None and s.spec.shape == (3, 6, 6) and s.notes == []


def test_corrupt_png_names_the_file(tmp_path):
    _folder(tmp_path)
    (tmp_path / "dog" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(DataError, match=r"dog/3.png: cannot read image"):
        load_data(DataConfig(name="image-folder", path=str(tmp_path)))


def test_image_folder_channel_conversion(tmp_path):
    _folder(tmp_path, mode="L")
    assert load_data(DataConfig(name="image-folder", path=str(tmp_path))).spec.shape == (1, 8, 8)
    assert load_data(DataConfig(name="image-folder", path=str(tmp_path), channels=3)).spec.shape == (3, 8, 8)
    with pytest.raises(DataError, match="data.channels=2"):
        load_data(DataConfig(name="image-folder", path=str(tmp_path), channels=2))


def test_missing_paths_are_named(tmp_path):
    with pytest.raises(DataError, match="nowhere: image folder does not exist"):
        load_data(DataConfig(name="image-folder", path=str(tmp_path / "nowhere")))
    with pytest.raises(DataError, match="x.npz: npz file does not exist"):
        load_data(DataConfig(name="npz", path=str(tmp_path / "x.npz")))
    with pytest.raises(DataError, match="--data nothing-here: no such dataset or path"):
        data_overrides("nothing-here")
    assert data_overrides(str(tmp_path)) == {"name": "image-folder", "path": str(tmp_path)}
    assert data_overrides("digits") == {"name": "digits"}
    (tmp_path / "docs.txt").write_text("one document a line\n")
    assert data_overrides(str(tmp_path / "docs.txt")) == {"name": "text", "path": str(tmp_path / "docs.txt")}


def test_fashion_default_path_constant():
    assert str(FASHION).endswith("fashion-mnist")


def test_npz_mask_scores_follow_their_rows_through_the_split(tmp_path):
    imgs = np.arange(40)[:, None, None].repeat(16, 1).reshape(40, 4, 4).astype(np.float32) / 40
    scores = np.arange(40)[:, None].repeat(4, 1).astype(np.float32)  # row i scored i
    np.savez(tmp_path / "a.npz", images=imgs, mask_scores=scores)
    s = load_data(DataConfig(name="npz", path=str(tmp_path / "a.npz"), test_fraction=0.25))
    for ds in (s.train, s.test):
        batch = ds.batch(torch.arange(len(ds)))
        assert torch.allclose(batch["mask_scores"][:, 0] / 40, batch["image"][:, 0, 0, 0])
    np.savez(tmp_path / "b.npz", images=imgs, mask_scores=scores[:, :, None])
    with pytest.raises(DataError, match=r"'mask_scores' must be numbers shaped \[40, tokens\]"):
        load_data(DataConfig(name="npz", path=str(tmp_path / "b.npz")))


def _split_folder(root, split, counts):
    for name, n in counts.items():
        (root / split / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            value = {"cat": 30, "dog": 130, "bird": 230}[name]
            Image.fromarray(np.full((8, 8), value, np.uint8)).save(root / split / name / f"{i}.png")


@pytest.mark.parametrize("held_out", ["test", "val", "Validation"])
def test_train_and_test_folders_are_the_splits(tmp_path, held_out):
    """train/ beside test/ (or val/): the folders are the splits and their sub-folders the
    classes, not two classes named 'train' and 'test' split 80/20 across both."""
    _split_folder(tmp_path, "train", {"cat": 5, "dog": 7})
    _split_folder(tmp_path, held_out, {"cat": 2, "dog": 1, "bird": 3})  # a class seen only in the test folder
    s = load_data(DataConfig(name="image-folder", path=str(tmp_path)))
    assert s.spec.class_names == ("bird", "cat", "dog") and len(s.train) == 12 and len(s.test) == 6
    assert sorted(s.train.labels.tolist()) == [1] * 5 + [2] * 7
    assert sorted(s.test.labels.tolist()) == [0] * 3 + [1] * 2 + [2]
    # each image's label is its folder's class: cat 30, dog 130, bird 230 grey
    grey = {1: 30 / 255, 2: 130 / 255, 0: 230 / 255}
    for split in (s.train, s.test):
        torch.testing.assert_close(split.inputs[:, 0, 0, 0], torch.tensor([grey[int(y)] for y in split.labels]))
    assert s.notes == [f"train/ and {held_out}/ read as the train and test splits, 3 classes from their sub-folders"]


def test_a_flat_test_folder_beside_class_folders_is_an_error(tmp_path):
    _split_folder(tmp_path, "train", {"cat": 2, "dog": 2})
    (tmp_path / "test").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "test" / "0.png")
    with pytest.raises(DataError, match="test: holds no class sub-folders, but the other split does"):
        load_data(DataConfig(name="image-folder", path=str(tmp_path)))


def _png_header(path, width, height):
    """A PNG whose header announces width x height greyscale pixels, with one tiny IDAT:
    what a decompression bomb looks like to a reader, in a few hundred bytes."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize("side", [20000, 11000])  # Pillow's error (> 2x its limit), and its mere warning
def test_decompression_bombs_are_refused_before_decoding(tmp_path, side):
    (tmp_path / "images").mkdir()
    folder = _folder(tmp_path / "images")
    _png_header(folder / "cat" / "bomb.png", side, side)
    with pytest.raises(DataError, match=r"bomb.png: .*refused before decoding"):
        load_data(DataConfig(name="image-folder", path=str(folder), memory_mb=0))
    s = load_data(DataConfig(name="image-folder", path=str(folder), on_error="skip"))
    assert len(s.train) + len(s.test) == 12 and s.notes == ["skipped 1 unreadable image files (data.on_error=skip)"]
