"""Which rows each step reads, with and without DataLoader workers."""

import numpy as np
import pytest
import torch
from PIL import Image

from maskfuse.config import resolve
from maskfuse.data import load_data
from maskfuse.distributed import World
from maskfuse.errors import ConfigError, DataError
from maskfuse.train.batches import BatchOrder, train_batches


def test_batch_larger_than_data_is_named():
    with pytest.raises(ConfigError, match="train.batch_size=64 exceeds the 50 training rows"):
        BatchOrder(50, 64, 0)


def test_batch_order_is_a_permutation_per_epoch():
    order = BatchOrder(10, 3, seed=1)
    epoch0 = torch.cat([order.indices(s) for s in range(3)])
    assert len(set(epoch0.tolist())) == 9  # no repeats within an epoch
    again = BatchOrder(10, 3, seed=1)
    assert torch.equal(again.indices(4), order.indices(4))  # any step, without replay


def batches(data, cfg, world=None, start=0, stop=12):
    return list(train_batches(data, cfg, world or World(), start, stop, torch.device("cpu")))


def test_workers_read_exactly_the_rows_of_each_step():
    cfg = resolve(overrides=["train.batch_size=64", "train.seed=5"])
    train = load_data(cfg.data).train
    order = BatchOrder(len(train), 64, 5)
    expected = [train.batch(order.indices(s)) for s in range(12)]
    for workers in (0, 2):
        cfg.data.workers = workers
        got = batches(train, cfg)
        assert len(got) == 12
        for a, b in zip(got, expected):
            assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])
    resumed = batches(train, cfg, start=7)  # a resumed run continues with step 7's rows
    assert torch.equal(resumed[0]["image"], expected[7]["image"])


def test_each_rank_reads_its_slice_of_the_global_batch():
    cfg = resolve(overrides=["train.batch_size=64"])
    train = load_data(cfg.data).train
    whole = batches(train, cfg, stop=3)
    halves = [batches(train, cfg, World(rank=r, size=2), stop=3) for r in range(2)]
    for s in range(3):
        joined = torch.cat([halves[0][s]["image"], halves[1][s]["image"]])
        assert torch.equal(joined, whole[s]["image"])


def test_negative_workers_are_refused():
    with pytest.raises(ConfigError, match=r"data.workers=-1: expected a value >= 0"):
        resolve(overrides=["data.workers=-1"])  # the config's range check
    cfg = resolve()
    cfg.data.workers = -1  # built in Python, past the check: the batch reader refuses it too
    with pytest.raises(ConfigError, match="data.workers must be 0 or more"):
        batches(load_data(cfg.data).train, cfg)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_file_that_breaks_in_a_worker_is_one_message_naming_it(tmp_path, workers):
    for i in range(12):
        Image.fromarray(np.full((8, 8), 20 * i, np.uint8)).save(tmp_path / f"{i}.png")
    cfg = resolve(overrides=["data.name=image-folder", f"data.path={tmp_path}", "data.memory_mb=0",
                             "train.batch_size=9", f"data.workers={workers}"])  # fmt: skip
    train = load_data(cfg.data).train  # read by row: each batch decodes its files
    for i in range(12):
        (tmp_path / f"{i}.png").write_bytes(b"\x89PNG broken after loading")
    with pytest.raises(DataError) as caught:
        batches(train, cfg, stop=2)
    message = str(caught.value)
    assert ".png: cannot read image" in message and "Traceback" not in message and "worker" not in message
