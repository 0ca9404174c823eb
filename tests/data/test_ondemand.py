"""Image and audio files decoded on demand, against the same files read whole."""

import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from maskfuse import cli, load
from maskfuse.cli import main
from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data, ondemand, resident
from maskfuse.data.ondemand import LazyRows
from maskfuse.data.shards import shard_order
from maskfuse.errors import DataError
from tests.conftest import fsdd_root, pretrain_on_demand


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    """scikit-learn's digits as 8-bit PNGs in one sub-folder per class."""
    d = load_digits()
    root = tmp_path_factory.mktemp("digits-png")
    pixels = (d.images * 255 / 16).astype(np.uint8)
    for i, (a, y) in enumerate(zip(pixels, d.target)):
        (root / f"class{y}").mkdir(exist_ok=True)
        Image.fromarray(a).save(root / f"class{y}" / f"{i:04d}.png")
    return root


def folder(path, *extra):
    return load_data(resolve(data_settings=data_overrides(str(path)), overrides=list(extra)).data)


def test_image_folder_on_demand_matches_the_folder_read_whole(digit_folder):
    held, lazy = folder(digit_folder), folder(digit_folder, "data.memory_mb=0")
    assert held.train.in_memory and isinstance(lazy.train, LazyRows) and isinstance(lazy.test, LazyRows)
    assert held.spec == lazy.spec  # 1,437 training rows: the statistics sample is the whole split
    assert lazy.spec.shape == (1, 8, 8) and lazy.spec.class_names == tuple(f"class{i}" for i in range(10))
    index = torch.tensor([7, 0, len(lazy.train) - 1, 7])
    got, want = lazy.train.batch(index), held.train.batch(index)
    assert torch.equal(got["image"], want["image"]) and torch.equal(got["label"], want["label"])
    assert torch.equal(resident(lazy, 10**6).test.inputs, held.test.inputs)
    capped = folder(digit_folder, "data.memory_mb=0", "data.max_train=100")
    assert isinstance(capped.train, LazyRows) and len(capped.train) == 100  # a cap keeps data on demand
    # files come sorted by class; each split is shuffled once, so the first rows hold every class
    assert set(lazy.train.labels[:100].tolist()) == set(range(10))


def test_on_demand_loading_decodes_only_the_statistics_sample(digit_folder, monkeypatch):
    calls = []
    decode = ondemand.Decoder.__call__
    monkeypatch.setattr(ondemand.Decoder, "__call__", lambda self, s, w: calls.append(w) or decode(self, s, w))
    monkeypatch.setattr(ondemand, "STAT_ROWS", 50)
    s = folder(digit_folder, "data.memory_mb=0")
    assert len(calls) == 1 + 50  # the first file fixes the shape; 50 rows estimate mean and std
    s.train.batch(torch.arange(32))
    assert len(calls) == 1 + 50 + 32
    assert 0 < s.spec.mean[0] < 1 and s.spec.std[0] > 0.1
    calls.clear()
    folder(digit_folder, "data.memory_mb=1")  # 1.8k x 64 floats fit in 1 MiB: decoded once, whole
    assert len(calls) == 1 + 1797


def test_bad_files_are_named_when_their_batch_is_read(tmp_path):
    for i in range(6):
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    for i in (6, 7, 8):  # three white 9x9 images among six 8x8: at least one is a training file
        Image.fromarray(np.full((9, 9), 255, np.uint8)).save(tmp_path / f"{i}.png")
    lazy = folder(tmp_path, "data.memory_mb=0", "data.test_fraction=0.25")  # the training headers are sampled
    assert len(lazy.notes) == 1 and lazy.notes[0].startswith("images differ in size (8x8, 9x9 among ")
    assert lazy.notes[0].endswith("all are resized to 8x8, the commonest (data.image_size=N resizes to N x N instead)")
    every = torch.cat([s.batch(torch.arange(len(s)))["image"] for s in (lazy.train, lazy.test)])
    assert every.shape == (9, 1, 8, 8) and int((every == 1.0).all(dim=(1, 2, 3)).sum()) == 3  # the white ones
    held = folder(tmp_path, "data.test_fraction=0.25")
    assert torch.equal(held.train.inputs, lazy.train.decoded().inputs)
    resized = folder(tmp_path, "data.image_size=4", "data.memory_mb=0", "data.test_fraction=0.25")
    assert resized.notes == [] and resized.spec.shape == (1, 4, 4)
    for i in (7, 8):
        (tmp_path / f"{i}.png").unlink()
    (tmp_path / "6.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="6.png: cannot read image"):
        folder(tmp_path)
    s = folder(tmp_path, "data.on_error=skip", "data.memory_mb=0", "data.test_fraction=0.25")
    assert len(s.train) + len(s.test) == 6 and s.notes == ["skipped 1 unreadable image files (data.on_error=skip)"]


def test_audio_folder_on_demand_matches_the_folder_read_whole(tmp_path):
    for f in sorted((fsdd_root() / "recordings").glob("*_jackson_1*.wav"))[:20]:
        (tmp_path / f.name[0]).mkdir(exist_ok=True)
        shutil.copy(f, tmp_path / f.name[0] / f.name)
    held, lazy = (
        folder(tmp_path, "data.test_fraction=0.25"),
        folder(tmp_path, "data.test_fraction=0.25", "data.memory_mb=0"),
    )
    assert held.train.in_memory and isinstance(lazy.train, LazyRows)
    assert held.spec == lazy.spec and lazy.spec.shape == (1, 8000)
    index = torch.arange(len(lazy.train)).flip(0)
    got, want = lazy.train.batch(index), held.train.batch(index)
    torch.testing.assert_close(got["audio"], want["audio"], equal_nan=True)
    assert torch.isnan(got["audio"]).any()  # clips under a second are NaN-padded in both
    assert torch.equal(got["label"], want["label"])


def test_cli_trains_embeds_and_writes_shards_from_a_folder_on_demand(digit_folder, tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert pretrain_on_demand(digit_folder, run)["results"]["pretrained"]["knn"]["top1"] > 0.5
    out = tmp_path / "shards"
    assert main(["data", "shard", "--data", str(digit_folder), "--out", str(out), "--shard-size", "500",
                 "data.memory_mb=0"]) == 0  # fmt: skip
    back, lazy = resident(folder(out), 10**6), folder(digit_folder, "data.memory_mb=0")
    order = {name: torch.as_tensor(shard_order(len(getattr(lazy, name)), 0)) for name in ("train", "test")}
    assert torch.equal(back.train.inputs, lazy.train.decoded().inputs[order["train"]]) and back.spec == lazy.spec
    monkeypatch.setattr(cli.commands, "EMBED_CHUNK", 500)  # embed reads 500 rows at a time, never a whole split
    for data, name in ((digit_folder, "folder"), (out, "shards")):
        assert main(["embed", str(run), "--data", str(data), "--out", str(tmp_path / f"{name}.npy")]) == 0
    from_folder, from_shards = np.load(tmp_path / "folder.npy"), np.load(tmp_path / "shards.npy")
    expected = load(run).embed(torch.cat([lazy.train.decoded().inputs, lazy.test.decoded().inputs]))
    assert from_folder.shape == (1797, 32)
    np.testing.assert_allclose(from_folder, expected, rtol=1e-5, atol=1e-5)
    in_shard_order = torch.cat([order["train"], len(lazy.train) + order["test"]])  # each split shuffled once
    np.testing.assert_allclose(from_shards, expected[in_shard_order.numpy()], rtol=1e-5, atol=1e-5)
