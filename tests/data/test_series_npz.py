"""Time series .npz archives read by row, against the same archive read whole."""

import numpy as np
import pytest
import torch

from maskfuse.cli import main
from maskfuse.config import DataConfig
from maskfuse.data import load_data, ondemand, resident
from maskfuse.data.arrays import ArrayRows
from maskfuse.errors import DataError
from tests.conftest import ucr_file


def series(path, **settings):
    return load_data(DataConfig(name="series-npz", path=str(path), **settings))


def gunpoint(tmp_path):
    """UCR GunPoint (real motion series), its own train and test files in one archive."""
    train, test = np.loadtxt(ucr_file("GunPoint")), np.loadtxt(ucr_file("GunPoint", "TEST"))
    path = tmp_path / "gunpoint.npz"
    np.savez(path, series=train[:, 1:], labels=train[:, 0].astype(int) - 1, test_series=test[:, 1:],
             test_labels=test[:, 0].astype(int) - 1)  # fmt: skip
    return path, train, test


def test_gunpoint_on_demand_matches_the_archive_read_whole(tmp_path):
    path, train, _ = gunpoint(tmp_path)
    held, lazy = series(path), series(path, memory_mb=0)
    assert held.train.in_memory and isinstance(lazy.train, ArrayRows) and isinstance(lazy.test, ArrayRows)
    assert held.spec == lazy.spec  # 50 training series: the statistics sample is the whole split
    assert lazy.spec.shape == (1, 150) and lazy.spec.num_classes == 2 and (len(lazy.train), len(lazy.test)) == (50, 150)
    index = torch.tensor([3, 0, 49, 3])
    got, want = lazy.train.batch(index), held.train.batch(index)
    assert torch.equal(got["timeseries"], want["timeseries"]) and torch.equal(got["label"], want["label"])
    row = int(lazy.train.rows[0])  # each split is shuffled once; rows keep their archive index
    np.testing.assert_allclose(got["timeseries"][1, 0].numpy(), train[row, 1:].astype(np.float32))
    assert torch.equal(resident(lazy, 10**6).test.inputs, held.test.inputs)


def test_gunpoint_pretrains_and_evaluates_on_demand(tmp_path):
    path, _, _ = gunpoint(tmp_path)
    run = tmp_path / "run"
    small = ["train.steps=3", "train.batch_size=16", "train.progress=false", "model.dim=32", "model.depth=1",
             "model.heads=2", "decoder.dim=32", "decoder.depth=1", "data.memory_mb=0", "data.workers=1"]  # fmt: skip
    assert main(["pretrain", "--recipe", "mae", "--data", str(path), "--out", str(run), *small]) == 0
    assert main(["evaluate", str(run), "--protocol", "knn"]) == 0


def ragged(tmp_path):
    """40 two-channel series of lengths 20-39, NaN-padded to 40, one with a hole in it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2, 40))
    for i in range(40):
        x[i, :, 20 + i % 20 :] = np.nan
    x[29, :, 3] = np.nan
    np.savez(tmp_path / "r.npz", series=x, labels=np.arange(40) % 2)
    return tmp_path / "r.npz", x


def test_ragged_series_are_cut_padded_and_checked_by_row(tmp_path, monkeypatch):
    path, x = ragged(tmp_path)
    monkeypatch.setattr(ondemand, "STAT_ROWS", 8)
    lazy = series(path, memory_mb=0, max_length=30)  # 8 spread rows estimate the statistics; 29 is not one
    assert lazy.spec.shape == (2, 30)
    good = [p for p, r in enumerate(lazy.train.rows) if r != 29]
    batch = lazy.train.batch(torch.tensor(good))["timeseries"].numpy()
    want = x[lazy.train.rows[good], :, :30].astype(np.float32)
    np.testing.assert_array_equal(np.isnan(batch), np.isnan(want))
    np.testing.assert_array_equal(np.nan_to_num(batch), np.nan_to_num(want))
    bad = [p for s in (lazy.train, lazy.test) for p, r in enumerate(s.rows) if r == 29]
    split = lazy.train if 29 in lazy.train.rows else lazy.test
    with pytest.raises(DataError, match=r"r.npz \('series'\), series 29: has a missing value \(NaN\) at step 3"):
        split.batch(torch.tensor(bad))
    with pytest.raises(DataError, match="series 29: has a missing value"):
        series(path)  # read whole: the same error at load time
    skipped = series(path, memory_mb=0, on_error="skip")
    assert 29 not in np.concatenate([skipped.train.rows, skipped.test.rows])
    assert len(skipped.train) + len(skipped.test) == 39 and any("skipped 1 bad" in n for n in skipped.notes)


def test_series_archive_errors_name_the_key(tmp_path):
    np.savez(tmp_path / "a.npz", series=np.zeros((10, 8)), labels=np.zeros(9, int))
    with pytest.raises(DataError, match="'labels' must be a vector of 10 labels"):
        series(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", series=np.zeros((10, 2, 8)), test_series=np.zeros((4, 3, 8)))
    with pytest.raises(DataError, match=r"different numbers of channels \[2, 3\]"):
        series(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", series=np.zeros(10))
    with pytest.raises(DataError, match=r"'series' must be numbers shaped \[N, C, T\] or \[N, T\]"):
        series(tmp_path / "c.npz")
