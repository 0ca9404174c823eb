""".npz archives read by row (memory-mapped or inflated), against the same archive read whole."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from maskfuse import cli, load
from maskfuse.cli import main
from maskfuse.config import DataConfig
from maskfuse.data import arrays, load_data, ondemand, resident, scratch
from maskfuse.data.arrays import ArrayRows, MappedArray, npz_arrays
from maskfuse.data.shards import shard_order
from maskfuse.errors import DataError
from tests.conftest import pretrain_on_demand, require_fashion_mnist


def test_stored_members_are_mapped_and_compressed_ones_inflated(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 3, 4, 5), dtype=np.uint8)
    fortran = np.asfortranarray(rng.normal(size=(50, 7)).astype(np.float32))
    np.savez(tmp_path / "plain.npz", images=images, f=fortran, labels=np.arange(50))
    z, notes = npz_arrays(tmp_path / "plain.npz", memory_mb=1024)
    assert notes == [] and all(isinstance(a, MappedArray) for a in z.values())
    assert z["images"].shape == (50, 3, 4, 5) and z["images"].dtype == np.uint8
    assert np.array_equal(z["images"][[9, 2, 9]], images[[9, 2, 9]]) and np.array_equal(z["f"][()], fortran)
    assert np.array_equal(z["labels"][()], np.arange(50))
    np.savez_compressed(tmp_path / "packed.npz", images=images, labels=np.arange(50))
    z, notes = npz_arrays(tmp_path / "packed.npz", memory_mb=1024)
    assert isinstance(z["images"], np.ndarray) and np.array_equal(z["images"], images) and notes == []
    z, notes = npz_arrays(tmp_path / "packed.npz", memory_mb=0)  # too large for memory: a temporary file
    assert isinstance(z["images"], MappedArray) and np.array_equal(z["images"][[4, 1]], images[[4, 1]])
    assert len(notes) == 2 and "'images' is compressed: inflated 0 MiB into" in notes[0]
    copy = pickle.loads(pickle.dumps(z["images"]))  # a worker maps the file again; no data travels
    assert len(pickle.dumps(z["images"])) < 1000 and np.array_equal(copy[[3]], images[[3]])
    scratch.remove_temp(str(z["images"].path))
    assert not z["images"].path.exists()


def test_unreadable_archives_are_named(tmp_path):
    np.savez(tmp_path / "obj.npz", images=np.array([{"a": 1}] * 3, dtype=object))
    with pytest.raises(DataError, match=r"obj.npz: 'images' holds Python objects"):
        npz_arrays(tmp_path / "obj.npz", 1024)
    np.savez(tmp_path / "a.npz", images=np.zeros((10, 8, 8), np.uint8))
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut.npz: not a readable .npz archive"):
        npz_arrays(tmp_path / "cut.npz", 1024)
    np.savez(tmp_path / "empty.npz", images=np.zeros((0, 8, 8), np.uint8))
    with pytest.raises(DataError, match=r"empty.npz: 'images' holds no images"):
        load_data(DataConfig(name="npz", path=str(tmp_path / "empty.npz")))
    np.savez(tmp_path / "text.npz", images=np.full((4, 4, 4), "a"))
    with pytest.raises(DataError, match=r"text.npz: 'images' has dtype <U1; expected uint8 or float"):
        load_data(DataConfig(name="npz", path=str(tmp_path / "text.npz")))


def npz(path, **settings):
    return load_data(DataConfig(name="npz", path=str(path), **settings))


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_npz_on_demand_matches_the_archive_read_whole(tmp_path, save):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (300, 8, 8), dtype=np.uint8)
    scores = rng.random((300, 4)).astype(np.float32)
    save(tmp_path / "a.npz", images=images, labels=np.arange(300) % 3, mask_scores=scores)
    held, lazy = npz(tmp_path / "a.npz"), npz(tmp_path / "a.npz", memory_mb=0)
    assert held.train.in_memory and isinstance(lazy.train, ArrayRows) and isinstance(lazy.test, ArrayRows)
    assert held.spec == lazy.spec and lazy.spec.shape == (1, 8, 8) and lazy.spec.num_classes == 3
    index = torch.tensor([5, 0, len(lazy.train) - 1, 5, 17])
    got, want = lazy.train.batch(index), held.train.batch(index)
    assert got.keys() == want.keys() == {"image", "label", "mask_scores"}
    assert all(torch.equal(got[k], want[k]) for k in got)
    assert np.array_equal(got["image"][1, 0].numpy(), images[lazy.train.rows[0]].astype(np.float32) / 255.0)
    assert torch.equal(resident(lazy, 10**6).test.inputs, held.test.inputs)
    assert torch.equal(resident(lazy, 10**6).test.extras["mask_scores"], held.test.extras["mask_scores"])
    capped = npz(tmp_path / "a.npz", memory_mb=0, max_train=40)
    assert isinstance(capped.train, ArrayRows) and len(capped.train) == 40


def test_on_demand_loading_converts_only_an_even_spread_of_rows(tmp_path, monkeypatch):
    images = np.repeat(np.arange(10, dtype=np.uint8) * 20, 100)[:, None, None].repeat(4, 1).repeat(4, 2)
    np.savez(tmp_path / "sorted.npz", images=images, labels=np.repeat(np.arange(10), 100))  # sorted by class
    seen = []
    convert = arrays.ImageValues.__call__
    monkeypatch.setattr(arrays.ImageValues, "__call__", lambda self, v, r: seen.extend(r) or convert(self, v, r))
    monkeypatch.setattr(ondemand, "STAT_ROWS", 50)
    s = npz(tmp_path / "sorted.npz", memory_mb=0)
    assert len(seen) == 50 and len({r // 100 for r in seen}) == 10  # 50 rows spread over all ten classes
    assert abs(s.spec.mean[0] - images.mean() / 255) < 0.01
    s.train.batch(torch.arange(32))
    assert len(seen) == 50 + 32


def test_a_bad_float_row_is_named_when_its_batch_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(ondemand, "STAT_ROWS", 10)  # rows 0, 4, 9, ..., 39 estimate the statistics
    images = np.random.default_rng(2).random((40, 8, 8)).astype(np.float32)
    images[33, 2, 2] = np.inf
    np.savez(tmp_path / "a.npz", images=images, test_images=images[:5])
    lazy = npz(tmp_path / "a.npz", memory_mb=0)
    lazy.train.batch(torch.arange(30))
    with pytest.raises(DataError, match=r"a.npz: 'images' row 33 holds NaN or infinite values"):
        lazy.train.batch(torch.tensor([1, 33, 2]))
    with pytest.raises(DataError, match="row 33 holds NaN"):
        npz(tmp_path / "a.npz")  # read whole: the same error at load time


def test_fashion_mnist_archive_on_demand_matches_it_read_whole(tmp_path):
    require_fashion_mnist()
    fm = load_data(DataConfig(name="fashion-mnist"))
    x = (fm.train.inputs[:6000, 0] * 255).round().to(torch.uint8).numpy()
    np.savez(tmp_path / "fm.npz", images=x, labels=fm.train.labels[:6000].numpy())
    held, lazy = npz(tmp_path / "fm.npz"), npz(tmp_path / "fm.npz", memory_mb=0)
    assert isinstance(lazy.train, ArrayRows) and lazy.spec.shape == held.spec.shape == (1, 28, 28)
    assert abs(lazy.spec.mean[0] - held.spec.mean[0]) < 0.01 and abs(lazy.spec.std[0] - held.spec.std[0]) < 0.01
    index = torch.randperm(len(lazy.train), generator=torch.Generator().manual_seed(0))[:256]
    assert torch.equal(lazy.train.batch(index)["image"], held.train.batch(index)["image"])
    assert torch.equal(lazy.train.labels, torch.from_numpy(fm.train.labels[:6000].numpy()[lazy.train.rows]))


def test_cli_trains_shards_and_embeds_from_an_archive_on_demand(tmp_path, monkeypatch):
    d = load_digits()
    archive = tmp_path / "digits.npz"
    np.savez(archive, images=(d.images * 255 / 16).astype(np.uint8), labels=d.target)
    run = tmp_path / "run"
    assert pretrain_on_demand(archive, run)["results"]["pretrained"]["knn"]["top1"] > 0.5
    out = tmp_path / "shards"
    assert main(["data", "shard", "--data", str(archive), "--out", str(out), "--shard-size", "500",
                 "data.memory_mb=0"]) == 0  # fmt: skip
    back, held = resident(load_data(DataConfig(name="webdataset", path=str(out))), 10**6), npz(archive)
    order = {name: torch.as_tensor(shard_order(len(getattr(held, name)), 0)) for name in ("train", "test")}
    assert torch.equal(back.train.inputs, held.train.inputs[order["train"]])
    assert torch.equal(back.test.labels, held.test.labels[order["test"]])
    monkeypatch.setattr(cli.commands, "EMBED_CHUNK", 500)
    assert main(["embed", str(run), "--data", str(archive), "--out", str(tmp_path / "e.npy")]) == 0
    expected = load(run).embed(torch.cat([held.train.inputs, held.test.inputs]))
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), expected, rtol=1e-5, atol=1e-5)
