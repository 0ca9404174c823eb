"""A manifest's cells read in one pass and kept on disk, against the cells themselves."""

import pickle

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import columns, load_data
from maskfuse.data.manifest_cells import PadSeries, StoredSeries, read_manifest
from maskfuse.data.ondemand import LazyRows
from maskfuse.data.scratch import Spans
from maskfuse.data.text import TextIds, build_vocabulary
from maskfuse.errors import DataError
from tests.data.test_paired_sources import DECLARE, load_manifest, media, write_manifest

KINDS = {"photo": "image", "voice": "audio", "caption": "text", "signal": "timeseries"}


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_one_pass_stores_each_cell_and_its_presence(tmp_path, suffix, monkeypatch):
    monkeypatch.setattr(columns, "CHUNK_CELLS", 12)  # chunks of 64 rows, the floor: force several
    rows = [dict(r) for r in (media(tmp_path) * 14)[:130]]
    for i in range(0, 130, 9):
        rows[i]["caption"] = None
    for i in range(2, 130, 11):
        rows[i]["signal"] = rows[i]["photo"] = None
    path = write_manifest(tmp_path, rows, suffix)
    m = read_manifest(path, KINDS, "label")
    assert len(m) == 130 and m.first_row == (2 if suffix == ".csv" else 1)
    want = np.asarray([[r[c] is not None for c in KINDS] for r in rows])
    assert np.array_equal(m.present, want)
    assert [str(v) for v in m.labels] == [str(r["label"]) for r in rows]
    texts = [t.decode() for t in m.stores["caption"].read(np.arange(130))]
    assert texts == [r["caption"] or "" for r in rows]
    photos = [p.decode() for p in m.stores["photo"].read(np.arange(130))]
    assert photos == ["" if r["photo"] is None else str((tmp_path / r["photo"]).resolve()) for r in rows]
    assert m.channels["signal"] == (1,)
    series = StoredSeries((1,), m.stores["signal"])(np.arange(130))
    for (got, _), r in zip(series, rows):
        want = None if r["signal"] is None else np.float32([float(v) for v in r["signal"].split()])
        assert (got is None) if want is None else np.array_equal(got[0], want)
    assert m.where(3, "voice") == f"{path}, row {3 + m.first_row}, column 'voice'"


def test_pad_series_pads_with_nan_and_leaves_missing_rows_zero():
    decode = PadSeries((2, 5))
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = decode.many([(a, ""), (None, ""), (np.ones((2, 5), np.float32), "")])
    assert out.shape == (3, 2, 5) and np.array_equal(out[0, :, :3], a) and np.isnan(out[0, :, 3:]).all()
    assert not out[1].any() and (out[2] == 1).all()


def test_text_ids_of_many_texts_equal_one_at_a_time_and_empty_is_padding():
    bpe = resolve(overrides=["data.vocab=bpe"]).data
    tok = build_vocabulary(["a small cat", "the big dog", "cat and dog"] * 5, bpe)
    decode = TextIds(tok, 4)
    texts = ["the cat", "", "a small big dog and cat"]
    got = decode.many([(t, "") for t in texts])
    pad = tok.token_to_id("[PAD]")
    for row, text in zip(got, texts):
        ids = tok.encode(text).ids[:4] if text else []
        assert row.tolist() == ids + [pad] * (4 - len(ids))
    assert (got[1] == pad).all()


def test_cells_are_checked_as_they_are_read(tmp_path):
    rows = media(tmp_path, 6)
    rows[4]["signal"] = [[1, 2, 3], [4, 5, 6]]  # two channels after one
    with pytest.raises(DataError, match=r"row 5, column 'signal': a series of 2 channels; the first one \(.*row 1"):
        load_manifest(write_manifest(tmp_path, rows, ".jsonl"))
    rows = media(tmp_path, 6)
    for r in rows:
        r["signal"] = None
    with pytest.raises(DataError, match=r"column 'signal': every cell is empty"):
        load_manifest(write_manifest(tmp_path, rows))
    path = write_manifest(tmp_path, media(tmp_path, 6), ".jsonl")
    path.write_text(path.read_text() + "\n{not json\n")
    with pytest.raises(DataError, match=r"pairs.jsonl, line 7: not JSON"):
        load_manifest(path)
    path.write_bytes(path.read_bytes().replace(b"{not json\n", b'{"photo": "\xff"}\n'))
    with pytest.raises(DataError, match=r"pairs.jsonl, line 7: not UTF-8"):
        load_manifest(path)


def test_batches_on_demand_read_only_their_rows_and_survive_pickling(tmp_path, monkeypatch):
    rows = media(tmp_path)
    rows[2]["caption"] = None
    path = write_manifest(tmp_path, rows, ".jsonl")
    s = load_data(resolve(overrides=["data.name=manifest", f"data.path={path}", DECLARE, "data.channels=1",
                                     "data.memory_mb=0", "data.vocab=bpe"]).data)  # fmt: skip
    assert all(isinstance(x, LazyRows) for x in s.train.parts.values())
    read = []
    spans_read = Spans.read
    monkeypatch.setattr(Spans, "read", lambda self, r: read.append(len(r)) or spans_read(self, r))
    batch = s.train.batch(torch.tensor([4, 0, 2]))
    assert read == [3, 3, 3, 3]  # each column reads its 3 cells, nothing else
    copy = pickle.loads(pickle.dumps(s.train))  # what a DataLoader worker receives
    assert len(pickle.dumps(s.train)) < 20_000
    again = copy.batch(torch.tensor([4, 0, 2]))
    for key in batch:
        torch.testing.assert_close(again[key], batch[key], equal_nan=True)


@pytest.mark.parametrize("escape", ["../outside.png", "ABSOLUTE"])
def test_paths_that_leave_the_manifest_folder_are_refused_unless_allowed(tmp_path, escape):
    inside = tmp_path / "set"
    inside.mkdir()
    rows = media(inside, 4)
    (inside / "img0.png").rename(tmp_path / "outside.png")
    rows[0]["photo"] = str(tmp_path / "outside.png") if escape == "ABSOLUTE" else escape
    path = write_manifest(inside, rows)
    with pytest.raises(DataError, match=r"row 2, column 'photo': .* leaves the manifest's folder .*data.allow_outside"):
        load_manifest(path)
    assert len(load_manifest(path, "data.allow_outside=true").train) == 3
