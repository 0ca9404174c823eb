"""Paired sources: the class-paired digits-av set and user manifests, with their errors."""

import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from maskfuse.config import resolve
from maskfuse.data import load_data, resident
from maskfuse.data.digits_av import WORDS
from maskfuse.data.ondemand import LazyRows
from maskfuse.data.paired import part_splits
from maskfuse.data.text import build_vocabulary, vocabulary_meta
from maskfuse.errors import DataError
from tests.conftest import fsdd_root


def test_digits_av_pairs_images_recordings_and_words_by_class():
    s = load_data(resolve(overrides=["data.name=digits-av", f"data.path={fsdd_root()}"]).data)
    assert list(s.spec.parts) == ["image", "audio", "text"]
    assert (len(s.train), len(s.test)) == (1437, 360) and s.spec.class_names == WORDS
    assert bool(s.train.present.all()) and s.spec.parts["audio"].shape == (1, 8000)
    # each row's recording is a spoken version of its image's digit: the audio part's own
    # labels (from FSDD file names) agree with the row labels
    audio = load_data(resolve(overrides=["data.name=fsdd", f"data.path={fsdd_root()}"]).data)
    by_clip = {tuple(x[0, :200].nan_to_num().tolist()): int(y) for x, y in zip(audio.test.inputs, audio.test.labels)}
    labels = [by_clip[tuple(x[0, :200].nan_to_num().tolist())] for x in s.test.parts["audio"][:40]]
    assert labels == s.test.labels[:40].tolist()
    text = part_splits(s, "text")
    assert text.spec.modality == "text" and text.train.inputs.dtype == torch.int64


def test_digits_av_needs_the_fsdd_path():
    with pytest.raises(DataError, match="set data.path to an FSDD checkout"):
        load_data(resolve(overrides=["data.name=digits-av"]).data)


def write_manifest(tmp_path, rows, suffix=".csv"):
    path = tmp_path / f"pairs{suffix}"
    if suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows))
    else:
        keys = list(rows[0])
        lines = [",".join(keys)] + [",".join("" if r[k] is None else str(r[k]) for k in keys) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    return path


def media(tmp_path, n=10):
    """n (<= 10) small PNGs and WAVs of real spoken digits (FSDD), with their digit labels."""
    clips = sorted((fsdd_root() / "recordings").glob("*_jackson_0.wav"))[:n]
    rows = []
    for i, clip in enumerate(clips):
        digit = int(clip.name[0])
        img = np.zeros((6, 6), np.uint8)
        img[digit % 6, :] = 255
        Image.fromarray(img).save(tmp_path / f"img{i}.png")
        data, rate = sf.read(clip)
        sf.write(tmp_path / f"clip{i}.wav", data[:2000], rate)
        signal = " ".join(str(v) for v in np.sin(np.arange(8 + i % 3) * digit))
        rows.append({"photo": f"img{i}.png", "voice": f"clip{i}.wav", "caption": f"number {digit}",
                     "signal": signal, "label": digit})  # fmt: skip
    return rows


DECLARE = "data.modalities=[photo:image,voice:audio,caption:text,signal:timeseries]"


def load_manifest(path, *extra):
    overrides = ["data.name=manifest", f"data.path={path}", DECLARE, "data.channels=1", "data.test_fraction=0.25"]
    return load_data(resolve(overrides=[*overrides, *extra]).data)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_manifest_with_missing_cells(tmp_path, suffix):
    rows = media(tmp_path)
    rows[1]["voice"] = None
    rows[2]["caption"] = None
    rows[3]["photo"] = rows[3]["signal"] = None
    s = load_manifest(write_manifest(tmp_path, rows, suffix))
    assert list(s.spec.parts) == ["photo", "voice", "caption", "signal"]
    assert {k: p.modality for k, p in s.spec.parts.items()} == {
        "photo": "image", "voice": "audio", "caption": "text", "signal": "timeseries"}  # fmt: skip
    assert s.spec.parts["photo"].shape == (1, 6, 6) and s.spec.parts["signal"].shape == (1, 10)
    assert len(s.train) + len(s.test) == 10
    both = torch.cat([s.train.present, s.test.present])
    assert both.sum(0).tolist() == [9, 9, 9, 9]
    x = torch.cat([s.train.parts["signal"], s.test.parts["signal"]])
    assert torch.isnan(x).any()  # shorter series are NaN-padded (padding tokens)


def test_manifest_errors_name_the_row_and_column(tmp_path):
    rows = media(tmp_path, 4)
    rows[2]["photo"] = "nowhere.png"
    with pytest.raises(DataError, match=r"row 4, column 'photo': image file .*nowhere.png does not exist"):
        load_manifest(write_manifest(tmp_path, rows))
    rows = media(tmp_path, 4)
    rows[1]["signal"] = "1 2 x"
    with pytest.raises(DataError, match=r"row 3, column 'signal': expected a series"):
        load_manifest(write_manifest(tmp_path, rows))
    rows = media(tmp_path, 4)
    rows[0]["caption"] = 7
    with pytest.raises(DataError, match=r"pairs.jsonl, row 1, column 'caption': expected text, got int"):
        load_manifest(write_manifest(tmp_path, rows, ".jsonl"))
    rows = media(tmp_path, 4)
    (tmp_path / "img1.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"row 3, column 'photo': .*cannot read image"):
        load_manifest(write_manifest(tmp_path, rows))


def test_manifest_declarations_are_checked(tmp_path):
    path = write_manifest(tmp_path, media(tmp_path, 4))
    with pytest.raises(DataError, match="kind one of image, audio, text, timeseries, video"):
        load_manifest(path, "data.modalities=[photo:hologram]")
    with pytest.raises(DataError, match="no column 'depth'"):
        load_manifest(path, "data.modalities=[photo:image,depth:image]")
    with pytest.raises(DataError, match="declare the manifest's modalities"):
        load_manifest(path, "data.modalities=[]")
    rows = media(tmp_path, 4)
    for k in ("photo", "voice", "caption", "signal"):
        rows[2][k] = None
    with pytest.raises(DataError, match="row 4: every modality"):
        load_manifest(write_manifest(tmp_path, rows))


def test_manifest_files_on_demand_match_the_manifest_read_whole(tmp_path):
    rows = media(tmp_path)
    rows[1]["voice"] = None
    rows[3]["photo"] = None
    path = write_manifest(tmp_path, rows)
    held, lazy = load_manifest(path), load_manifest(path, "data.memory_mb=0")
    assert held.train.in_memory and not lazy.train.in_memory and not lazy.test.in_memory
    assert all(isinstance(x, LazyRows) for x in lazy.train.parts.values())  # texts and series too
    assert lazy.spec == held.spec
    index = torch.arange(len(lazy.train)).flip(0)
    got, want = lazy.train.batch(index), held.train.batch(index)
    assert got.keys() == want.keys()
    for key in got:
        torch.testing.assert_close(got[key], want[key], equal_nan=True)
    assert not bool(got["photo"][~got["present"][:, 0]].any())  # absent rows decode to zeros
    voice = lazy.test.part("voice", "audio")
    assert isinstance(voice, LazyRows) and len(voice) == int(lazy.test.present[:, 1].sum())
    torch.testing.assert_close(voice.decoded().inputs, held.test.part("voice", "audio").inputs, equal_nan=True)
    whole = resident(lazy, 10**6)
    assert whole.train.in_memory and torch.equal(whole.train.parts["photo"], held.train.parts["photo"])
    r = next(int(r) for r in lazy.test.parts["photo"].rows if rows[r]["photo"])  # a photo of the test split
    (tmp_path / f"img{r}.png").write_bytes(b"not a png")
    broken = load_manifest(path, "data.memory_mb=0")  # loads: the statistics read training photos only
    with pytest.raises(DataError, match=rf"row {r + 2}, column 'photo': .*img{r}.png: cannot read image"):
        broken.test.batch(torch.arange(len(broken.test)))


def test_paired_text_is_read_through_the_runs_own_tokenizers(tmp_path):
    """Given a run's spec, a manifest's text columns and digits-av's phrases are tokenized by
    the run's tokenizers (WordPiece training is not deterministic: trained again, the same
    words may get other ids), and the data comes back identical."""
    rows = media(tmp_path)
    rows[2]["caption"] = None
    for r in rows:
        r["note"] = f"a {r['label']} written note"
    path = write_manifest(tmp_path, rows)
    declare = "data.modalities=[photo:image,caption:text,note:text]"
    first = load_manifest(path, declare, "data.vocab=bpe")  # deterministic, unlike the WordPiece asked for below
    settings = ["data.name=manifest", f"data.path={path}", declare, "data.channels=1", "data.test_fraction=0.25",
                "data.vocab=wordpiece"]  # fmt: skip
    again = load_data(resolve(overrides=settings).data, first.spec)
    assert again.spec == first.spec
    for key in ("caption", "note"):
        assert torch.equal(again.train.parts[key], first.train.parts[key])
    av = resolve(overrides=["data.name=digits-av", f"data.path={fsdd_root()}", "data.vocab=wordpiece"]).data
    run = load_data(av)
    phrases = [f"the number {w} digit {d}" for d, w in enumerate(WORDS)]
    bpe = build_vocabulary(phrases, replace(av, vocab="bpe", vocab_size=60))  # a run's own, unlike a new one
    text = replace(run.spec.parts["text"], meta=vocabulary_meta(bpe))
    reread = load_data(av, replace(run.spec, parts={**run.spec.parts, "text": text}))
    assert reread.spec.parts["text"].meta["encoding"] == bpe.to_str()
    ids = reread.test.parts["text"]
    assert int(ids.max()) < bpe.get_vocab_size() and not torch.equal(ids, run.test.parts["text"])
    assert torch.equal(load_data(av, run.spec).test.parts["text"], run.test.parts["text"])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_manifest_split_column_gives_the_split(tmp_path, suffix):
    rows = media(tmp_path)
    for i, r in enumerate(rows):
        r["part"] = "Test" if i in (2, 7) else "val" if i == 5 else "train"
    s = load_manifest(write_manifest(tmp_path, rows, suffix), "data.split_column=part")
    assert (len(s.train), len(s.test)) == (7, 3)  # val rows are held out with the test rows
    assert sorted(s.test.labels.tolist()) == sorted(rows[i]["label"] for i in (2, 5, 7))
    rows[4]["part"] = "holdout"
    with pytest.raises(DataError, match=r"row \d+, column 'part': split marker 'holdout'; expected train, test or val"):
        load_manifest(write_manifest(tmp_path, rows, suffix), "data.split_column=part")
    with pytest.raises(DataError, match=r"no column 'nope' \(data.split_column\)"):
        load_manifest(write_manifest(tmp_path, rows, ".csv"), "data.split_column=nope")
    # found by fuzzing: a modality present only in held-out rows was an IndexError
    rows[4]["part"] = "train"
    for r in rows:
        r["photo"] = r["photo"] if r["part"] != "train" else None
    with pytest.raises(DataError, match=r"column 'photo': no training row has a cell in it, only held-out rows do"):
        load_manifest(write_manifest(tmp_path, rows, suffix), "data.split_column=part")
