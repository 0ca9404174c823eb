"""WebDataset shards: written from any source, read back exactly, streamed per rank and worker."""

import io
import json
import re
import tarfile

import numpy as np
import pytest
import torch

from maskfuse.cli import main
from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data, resident
from maskfuse.data.paired import PairedDataset
from maskfuse.data.shards import ShardStream, read_npy, shard_order, write_shards
from maskfuse.errors import ConfigError, DataError
from maskfuse.train.batches import batch_loader
from tests.conftest import fsdd_root


def digits(**extra):
    return load_data(resolve(overrides=["data.name=digits", *extra.values()]).data)


@pytest.fixture(scope="module")
def digit_shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards") / "digits"
    write_shards(digits(), out, shard_size=200)
    return out


def test_shards_hold_every_row_and_the_spec(digit_shards):
    source = digits()
    index = json.loads((digit_shards / "spec.json").read_text())
    assert index["rows"] == {"train": 1437, "test": 360}
    assert len(index["shards"]["train"]) == 8 and len(index["shards"]["test"]) == 2  # ceil(1437 / 200), ceil(360 / 200)
    assert data_overrides(str(digit_shards)) == {"name": "webdataset", "path": str(digit_shards)}
    back = load_data(resolve(overrides=["data.name=webdataset", f"data.path={digit_shards}"]).data)
    assert back.spec == source.spec
    assert not back.train.in_memory and len(back.train) == 1437
    whole = resident(back, 10**6)
    order = torch.as_tensor(shard_order(1437, 0))  # each split is written in a seeded order
    assert torch.equal(whole.train.inputs, source.train.inputs[order])
    assert torch.equal(whole.train.labels, source.train.labels[order])
    assert torch.equal(whole.test.inputs, source.test.inputs[torch.as_tensor(shard_order(360, 0))])
    capped = resident(back, 100)
    assert len(capped.train) == 100 and len(capped.test) == 360


def test_entries_are_plain_npy_never_pickles(digit_shards):
    with tarfile.open(digit_shards / "train-000000.tar") as tar:
        members = tar.getmembers()
        names = [m.name for m in members[:4]]
    assert all(not m.pax_headers for m in members)  # plain headers: pax ones doubled the reading cost
    assert names == ["train000000000.image.npy", "train000000000.label.npy", "train000000001.image.npy",
                     "train000000001.label.npy"]  # fmt: skip


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.array(7),
        np.array([True, False]),
        np.zeros((2, 0, 3), dtype=np.int64),
    ],  # fmt: skip
)
def test_read_npy_matches_numpy(array):
    buf = io.BytesIO()
    np.save(buf, array)
    back = read_npy(buf.getvalue())
    assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)
    with pytest.raises(ValueError, match="data bytes"):
        read_npy(buf.getvalue() + b"x")


def stream_rows(shards: ShardStream, world: int, workers: int, steps: int, batch: int = 16) -> list[list[int]]:
    """Per rank: the label+pixel fingerprints of its first `steps` batches."""
    out = []
    for rank in range(world):
        stream = shards.stream(seed=3, rank=rank, world=world, batch=batch, workers=workers, buffer=50)
        loader = batch_loader(stream, workers, pin=False)
        rows = []
        for _, b in zip(range(steps), loader):
            assert b["image"].shape == (batch, 1, 8, 8) and b["label"].shape == (batch,)
            rows += [hash(x.numpy().tobytes()) for x in b["image"]]
        out.append(rows)
    return out


def test_stream_is_seeded_and_covers_an_epoch_without_repeats(digit_shards):
    shards = load_data(resolve(overrides=[f"data.path={digit_shards}", "data.name=webdataset"]).data).train
    # the first 8 shards' rows once each per epoch: 2 ranks x 2 workers read disjoint shards
    a = stream_rows(shards, world=2, workers=2, steps=20)
    b = stream_rows(shards, world=2, workers=2, steps=20)
    assert a == b  # same seed, same batches (what resume relies on)
    epoch = [r for rank in a for r in rank]
    assert len(set(epoch)) == len(epoch)  # 640 rows, no repeats across ranks or workers
    whole = {hash(x.numpy().tobytes()) for x in shards.head(1437).inputs}
    assert set(epoch) <= whole
    alone = stream_rows(shards, world=1, workers=0, steps=89)[0]  # 1424 rows: one epoch less a remainder
    assert len(set(alone)) == len(alone)
    shuffled = stream_rows(shards, world=1, workers=0, steps=4)[0]
    assert shuffled != [hash(x.numpy().tobytes()) for x in shards.head(64).inputs]  # shards and rows shuffled


def test_too_few_shards_for_the_readers_is_named(digit_shards):
    shards = load_data(resolve(overrides=[f"data.path={digit_shards}", "data.name=webdataset"]).data).train
    with pytest.raises(ConfigError, match="8 training shards cannot feed 4 rank"):
        shards.stream(0, 0, 4, 8, workers=3, buffer=10)


def test_paired_data_round_trips(tmp_path):
    source = load_data(resolve(overrides=["data.name=digits-av", f"data.path={fsdd_root()}", "data.max_train=300",
                                          "data.max_test=50"]).data)  # fmt: skip
    write_shards(source, tmp_path / "av", shard_size=100)
    back = resident(load_data(resolve(overrides=["data.name=webdataset", f"data.path={tmp_path / 'av'}"]).data), 10**6)
    assert isinstance(back.train, PairedDataset) and back.spec == source.spec
    order = torch.as_tensor(shard_order(300, 0))
    for name in source.train.names:
        want = source.train.parts[name][order]
        torch.testing.assert_close(back.train.parts[name], want, rtol=0, atol=0, equal_nan=True)
    assert torch.equal(back.train.present, source.train.present[order])


def test_bad_shard_folders_are_named(tmp_path, digit_shards):
    with pytest.raises(DataError, match="no spec.json"):
        load_data(resolve(overrides=["data.name=webdataset", f"data.path={tmp_path}"]).data)
    broken = tmp_path / "broken"
    broken.mkdir()
    index = json.loads((digit_shards / "spec.json").read_text())
    (broken / "spec.json").write_text(json.dumps(index))
    with pytest.raises(DataError, match="train-000000.tar: shard listed in spec.json is missing"):
        load_data(resolve(overrides=["data.name=webdataset", f"data.path={broken}"]).data)
    (broken / "spec.json").write_text("{not json")
    with pytest.raises(DataError, match="not a maskfuse shard index"):
        load_data(resolve(overrides=["data.name=webdataset", f"data.path={broken}"]).data)
    with pytest.raises(DataError, match="folder is not empty"):
        write_shards(digits(), broken, 100)


def test_a_pickled_entry_is_refused(tmp_path, digit_shards):
    bad = tmp_path / "bad"
    bad.mkdir()
    index = json.loads((digit_shards / "spec.json").read_text())
    index["shards"] = {"train": ["train-000000.tar"], "test": ["test-000000.tar"]}
    (bad / "spec.json").write_text(json.dumps(index))
    import pickle

    payload = pickle.dumps(np.zeros((1, 8, 8), dtype=object))
    with tarfile.open(bad / "train-000000.tar", "w") as tar:
        info = tarfile.TarInfo("x0.image.npy")
        buf = io.BytesIO()
        np.save(buf, np.array([payload], dtype=object), allow_pickle=True)
        info.size = len(buf.getvalue())
        tar.addfile(info, io.BytesIO(buf.getvalue()))
    (bad / "test-000000.tar").write_bytes((bad / "train-000000.tar").read_bytes())
    shards = load_data(resolve(overrides=["data.name=webdataset", f"data.path={bad}"]).data).train
    with pytest.raises(DataError, match="x0: entry 'image.npy' is not a readable .npy array"):
        shards.head(1)


def test_cli_shards_a_source_and_pretrains_from_it(tmp_path, capsys):
    out = tmp_path / "shards"
    args = ["data", "shard", "--data", "digits", "--out", str(out), "--shard-size", "500", "data.max_test=100"]
    assert main(args) == 0
    assert "train: 1437 rows in 3 shard(s)" in capsys.readouterr().out
    run = tmp_path / "run"
    args = ["pretrain", "--data", str(out), "--out", str(run), "train.steps=6", "train.batch_size=32",
            "train.progress=false", "model.size=micro", "data.workers=1", "train.monitor_every=3"]  # fmt: skip
    assert main(args) == 0
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 6 and "monitor/knn" in records[-1]


@pytest.mark.parametrize(
    "name",
    ["pipe:cat train-000000.tar; touch PWNED", "../../x.tar", "/etc/passwd", "http://example.com/x.tar",
     "train-000000.tar; touch PWNED", "sub/train-000000.tar", 7],
)  # fmt: skip
def test_shard_names_from_spec_json_never_reach_a_shell_or_another_folder(tmp_path, digit_shards, monkeypatch, name):
    """spec.json lists the shards; only names the writer makes are read, as plain files in
    the folder (webdataset's opener runs "pipe:" names through a shell)."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    for shard in digit_shards.glob("*.tar"):
        (folder / shard.name).write_bytes(shard.read_bytes())
    index = json.loads((digit_shards / "spec.json").read_text())
    index["shards"]["train"] = [name, *index["shards"]["train"]]
    (folder / "spec.json").write_text(json.dumps(index))
    monkeypatch.chdir(folder)  # `--data .`: a relative folder, where "pipe:..." would stay a bare name
    with pytest.raises(DataError, match="is not a name maskfuse writes"):
        load_data(resolve(overrides=["data.name=webdataset", "data.path=."]).data)
    assert not (folder / "PWNED").exists()


def test_shard_files_are_opened_as_files_only(tmp_path):
    stream = ShardStream([f"pipe:touch {tmp_path / 'PWNED'}"], 1, {"kind": "array", "modality": "image"})
    with pytest.raises(DataError, match="cannot open shard"):
        stream.head(1)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("workers", [0, 1])
def test_a_shard_broken_after_loading_is_one_message_naming_it(tmp_path, workers):
    from maskfuse.distributed import World
    from maskfuse.train.batches import train_batches

    out = tmp_path / "shards"
    write_shards(digits(), out, shard_size=200)
    cfg = resolve(overrides=[f"data.path={out}", "data.name=webdataset", "train.batch_size=16",
                             f"data.workers={workers}"])  # fmt: skip
    train = load_data(cfg.data).train
    for shard in out.glob("train-*.tar"):
        shard.write_bytes(shard.read_bytes()[:700])  # cut inside the first sample
    with pytest.raises(DataError) as caught:
        list(train_batches(train, cfg, World(), 0, 3, torch.device("cpu")))
    message = str(caught.value)
    assert re.fullmatch(r".*/train-\d{6}\.tar: cannot read shard \([^()]+\)", message), message
    assert "Traceback" not in message and "worker" not in message


@pytest.mark.parametrize("modality", ["video", "volume", "motion", "points"])
def test_shards_of_the_folder_modalities_read_back_the_same(modality, tmp_path):
    """Clips, volumes, NaN-padded motion and point clouds round-trip through shards."""
    from maskfuse.registry import MODALITIES

    source = MODALITIES.get(modality).contract_example()[0]
    write_shards(source, tmp_path / modality, shard_size=10)
    cfg = resolve(overrides=["data.name=webdataset", f"data.path={tmp_path / modality}"])
    back = resident(load_data(cfg.data), 10**6)
    assert back.spec == source.spec
    for split in ("train", "test"):
        a, b = getattr(source, split), getattr(back, split)
        order = torch.as_tensor(shard_order(len(a), 0))
        assert torch.equal(b.inputs.nan_to_num(-7.0), a.inputs[order].nan_to_num(-7.0))
        assert torch.equal(b.labels, a.labels[order])
