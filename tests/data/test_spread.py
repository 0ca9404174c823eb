"""Caps, monitors and evaluation subsets keep every class, on data sorted by class."""

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import load_data, resident
from maskfuse.data.base import spread_rows
from maskfuse.evaluate.monitor import OnlineMonitor


def test_spread_rows_take_every_class_in_proportion():
    labels = torch.tensor([0] * 500 + [1] * 300 + [2] * 200)  # sorted by class
    picked = spread_rows(labels, 1000, 100, seed=3)
    assert len(picked) == len(set(picked.tolist())) == 100 and np.all(np.diff(picked) > 0)
    assert np.bincount(labels[picked].numpy()).tolist() == [50, 30, 20]
    assert np.array_equal(picked, spread_rows(labels, 1000, 100, seed=3))
    assert not np.array_equal(picked, spread_rows(labels, 1000, 100, seed=4))
    odd = spread_rows(labels, 1000, 7, seed=0)
    assert sorted(np.bincount(labels[odd].numpy(), minlength=3).tolist()) == [1, 2, 4]  # 3.5 / 2.1 / 1.4
    assert np.array_equal(spread_rows(labels, 1000, 5000), np.arange(1000))
    free = spread_rows(None, 1000, 100, seed=0)
    assert len(np.unique(free)) == 100 and free.max() > 900  # a draw over the whole split, not its head


@pytest.fixture(scope="module")
def sorted_npz(tmp_path_factory):
    """An image archive sorted by class: 10 classes of 60 rows, each class a different grey."""
    path = tmp_path_factory.mktemp("sorted") / "sorted.npz"
    labels = np.repeat(np.arange(10), 60)
    images = (labels[:, None, None] * 25 + np.random.default_rng(0).integers(0, 5, (600, 8, 8))).astype(np.uint8)
    np.savez(path, images=images, labels=labels, test_images=images[::3], test_labels=labels[::3])
    return path


@pytest.mark.parametrize("memory_mb", [1024, 0])  # held, and read by row from the archive
def test_caps_and_monitor_rows_keep_every_class(sorted_npz, memory_mb):
    cfg = resolve(overrides=[f"data.path={sorted_npz}", "data.name=npz", "data.max_train=50", "data.max_test=20",
                             f"data.memory_mb={memory_mb}"]).data  # fmt: skip
    splits = load_data(cfg)
    assert np.bincount(splits.train.labels.numpy()).tolist() == [5] * 10
    assert np.bincount(splits.test.labels.numpy()).tolist() == [2] * 10
    whole = load_data(resolve(overrides=[f"data.path={sorted_npz}", "data.name=npz",
                                         f"data.memory_mb={memory_mb}"]).data)  # fmt: skip
    monitor = OnlineMonitor(resident(whole, 100, 100), rows=100)
    assert np.bincount(monitor.train.labels.numpy()).tolist() == [10] * 10
    assert np.bincount(monitor.test.labels.numpy()).tolist() == [10] * 10
    held = resident(whole, 30)  # evaluation of data read on demand: a subset; data in memory: every row
    counts = [3] * 10 if memory_mb == 0 else [60] * 10
    assert held.train.in_memory and np.bincount(held.train.labels.numpy()).tolist() == counts
    # each kept row is the sample of that row: labels and pixels stay together
    assert torch.equal((held.train.inputs[:, 0, 0, 0] * 255 / 25).floor().long(), held.train.labels)
