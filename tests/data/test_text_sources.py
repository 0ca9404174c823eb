import json

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers

from maskfuse import load
from maskfuse.cli import main
from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.data.ondemand import LazyRows
from maskfuse.data.text import encode_with_spec
from maskfuse.data.text_docs import LineDocs, TableDocs
from maskfuse.errors import DataError
from tests.conftest import rotten_tomatoes


def cfg_for(path, *extra):
    return resolve(data_settings=data_overrides(str(path)), overrides=["data.name=text", *extra]).data


def test_rotten_tomatoes_csv_with_a_trained_wordpiece_vocabulary(tmp_path):
    path = rotten_tomatoes(tmp_path, rows=400)
    s = load_data(cfg_for(path, "data.label_column=sentiment", "data.vocab=wordpiece", "data.vocab_size=800"))
    assert s.spec.modality == "text" and s.spec.class_names == ("fresh", "rotten")
    assert s.spec.meta["vocab_size"] <= 800 and s.spec.meta["pad_id"] == 0
    assert len(s.train) + len(s.test) == 400
    tok = Tokenizer.from_str(s.spec.meta["encoding"])
    first = s.train.inputs[0]
    words = tok.decode(first[first != 0].tolist())
    assert len(words.split()) > 3  # real words come back out of the ids


def test_vocabularies_bpe_items_and_a_tokenizer_file(tmp_path):
    path = rotten_tomatoes(tmp_path, rows=200)
    bpe = load_data(cfg_for(path, "data.label_column=sentiment", "data.vocab=bpe", "data.vocab_size=500"))
    assert bpe.spec.meta["vocab_size"] <= 500
    (tmp_path / "items.txt").write_text("\n".join(" ".join(f"i{(j * 7 + k) % 30}" for k in range(5 + j % 4))
                                                  for j in range(40)))  # fmt: skip
    items = load_data(cfg_for(tmp_path / "items.txt", "data.vocab=items", "data.label_column=null"))
    assert items.spec.meta["vocab_size"] == 5 + 30 and items.spec.shape == (8,)
    Tokenizer.from_str(bpe.spec.meta["encoding"]).save(str(tmp_path / "tok.json"))
    again = load_data(cfg_for(path, "data.label_column=sentiment", f"data.vocab={tmp_path / 'tok.json'}"))
    assert again.spec.meta["encoding"] == bpe.spec.meta["encoding"]
    bare = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    bare.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    bare.save(str(tmp_path / "bare.json"))
    with pytest.raises(DataError, match=r"bare.json: the tokenizer has no \[PAD\] token"):
        load_data(cfg_for(path, "data.label_column=sentiment", f"data.vocab={tmp_path / 'bare.json'}"))


def test_a_tokenizer_with_an_id_past_its_size_fails_at_load_not_at_step_one(tmp_path):
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "good": 5, "bad": 900}
    gappy = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    gappy.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    gappy.save(str(tmp_path / "gappy.json"))
    (tmp_path / "docs.txt").write_text("good bad good\nbad bad\ngood\n" * 10)
    with pytest.raises(DataError, match=r"gappy.json: token 'bad' has id 900, but the vocabulary holds 7 tokens"):
        load_data(cfg_for(tmp_path / "docs.txt", "data.label_column=null", f"data.vocab={tmp_path / 'gappy.json'}"))


def test_empty_lines_and_long_sequences_name_their_row_or_are_skipped(tmp_path):
    lines = [f"document number {i} says something" for i in range(30)]
    lines[7] = "   "
    lines[12] = " ".join(["word"] * 40)
    (tmp_path / "docs.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"docs.txt, line 8: empty text"):
        load_data(cfg_for(tmp_path / "docs.txt", "data.label_column=null"))
    (tmp_path / "long.txt").write_text("\n".join(lines[:7] + lines[8:]) + "\n")  # no empty line
    cut = load_data(cfg_for(tmp_path / "long.txt", "data.label_column=null", "data.max_length=16", "data.vocab=items"))
    assert len(cut.train) + len(cut.test) == 29 and cut.spec.shape == (16,)
    assert cut.notes == ["1 of 29 documents are longer than 16 tokens (data.max_length=16; the longest has 40): "
                         "cut to their first 16 (data.text_chunks=true keeps the rest as more rows)"]  # fmt: skip
    every = torch.cat([cut.train.inputs, cut.test.inputs])
    same = (every == every[:, :1]).all(1) & (every[:, 0] != cut.spec.meta["pad_id"])
    assert int(same.sum()) == 1  # the 40-word line, cut to 16 words (the others are 5 words, then padding)
    s = load_data(cfg_for(tmp_path / "docs.txt", "data.label_column=null", "data.max_length=16",
                          "data.on_error=skip", "data.vocab=items"))  # fmt: skip
    assert len(s.train) + len(s.test) == 29 and s.spec.shape[0] == 16 and len(s.notes) == 2  # the long one is cut


def test_long_documents_cut_into_pieces_stay_in_their_split(tmp_path):
    words = [f"w{k}" for k in range(12)]
    rows = [{"text": " ".join(words * 4)[: 3 + 30 * (i % 3) * 2], "y": f"c{i % 2}"} for i in range(40)]
    (tmp_path / "long.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    settings = ["data.text_column=text", "data.label_column=y", "data.vocab=items", "data.max_length=10"]
    whole = load_data(cfg_for(tmp_path / "long.jsonl", *settings, "data.max_length=100"))
    counts = (torch.cat([whole.train.inputs, whole.test.inputs]) != 0).sum(1)
    s = load_data(cfg_for(tmp_path / "long.jsonl", *settings, "data.text_chunks=true", "data.memory_mb=0"))
    assert len(s.train) + len(s.test) == int((-(-counts // 10)).sum()) and s.spec.shape == (10,)
    assert "cut into pieces of 10" in s.notes[0]
    train_docs, test_docs = set(s.train.cells.doc.tolist()), set(s.test.cells.doc.tolist())
    assert not train_docs & test_docs and len(train_docs | test_docs) == 40  # a document's pieces share a split
    for part in (s.train, s.test):  # each piece keeps its document's label, and follows the one before
        doc, piece = part.cells.doc, part.cells.piece
        assert [int(y) for y in part.labels] == [int(rows[d]["y"][1]) for d in doc]
        ids = part.decoded().inputs
        for i in np.flatnonzero(piece > 0):
            assert doc[i - 1] == doc[i] and piece[i - 1] == piece[i] - 1
            assert ids[i - 1, -1] != 0  # the piece before is full


def test_jsonl_rows_and_a_missing_field(tmp_path):
    rows = [{"body": f"a fine {w} film", "y": w} for w in ["good", "bad"] * 10]
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    s = load_data(cfg_for(tmp_path / "r.jsonl", "data.text_column=body", "data.label_column=y", "data.vocab=items"))
    assert s.spec.class_names == ("bad", "good")
    with pytest.raises(DataError, match=r"r.jsonl, line 1: no 'text' field"):
        load_data(cfg_for(tmp_path / "r.jsonl"))


def rotten_tomatoes_lines(tmp_path, rows=600):
    """Rotten Tomatoes snippets as a JSONL file (text and label) and a .txt file (text)."""
    import csv

    table = list(csv.reader(rotten_tomatoes(tmp_path, rows=rows).open(encoding="utf-8")))[1:]
    table = [(y, " ".join(t.split())) for y, t in table]  # one line each
    (tmp_path / "rt.jsonl").write_text("\n".join(json.dumps({"text": t, "y": y}) for y, t in table) + "\n")
    (tmp_path / "rt.txt").write_text("\n".join(t for _, t in table) + "\n")
    return table


@pytest.mark.parametrize("name,extra", [("rt.jsonl", ["data.label_column=y"]), ("rt.txt", ["data.label_column=null"])])
def test_line_files_on_demand_match_the_file_read_whole(tmp_path, monkeypatch, name, extra):
    table = rotten_tomatoes_lines(tmp_path)
    settings = [*extra, "data.vocab=bpe", "data.vocab_size=600"]  # BPE trains deterministically
    held, lazy = (
        load_data(cfg_for(tmp_path / name, *settings, m)) for m in ("data.memory_mb=1024", "data.memory_mb=0")
    )
    assert held.train.in_memory and isinstance(lazy.train, LazyRows) and isinstance(lazy.train.cells.docs, LineDocs)
    assert held.spec == lazy.spec and len(lazy.train) + len(lazy.test) == 600
    read = []
    texts = LineDocs.texts
    monkeypatch.setattr(LineDocs, "texts", lambda self, rows: read.extend(rows) or texts(self, rows))
    index = torch.tensor([4, 0, len(lazy.train) - 1])
    got, want = lazy.train.batch(index), held.train.batch(index)
    assert len(read) == 3 and torch.equal(got["text"], want["text"])  # a batch reads its own lines only
    assert ("label" in got) == (name == "rt.jsonl") and torch.equal(got.get("label", index), want.get("label", index))
    tok = Tokenizer.from_str(lazy.spec.meta["encoding"])
    line = table[int(lazy.train.rows[0])][1]  # row 0 of the shuffled split, by its place in the file
    assert got["text"][1][got["text"][1] != 0].tolist() == tok.encode(line).ids


def test_a_line_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"a fine film\nan \xff line\nanother one\n")
    with pytest.raises(DataError, match=r"bad.txt, line 2: not UTF-8 text"):
        load_data(cfg_for(tmp_path / "bad.txt", "data.label_column=null"))
    (tmp_path / "bad.jsonl").write_text('{"text": "fine"}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"bad.jsonl, line 2: no 'text' field"):
        load_data(cfg_for(tmp_path / "bad.jsonl"))


def test_cli_pretrains_on_a_jsonl_file_read_on_demand(tmp_path):
    rotten_tomatoes_lines(tmp_path, rows=200)
    run = tmp_path / "run"
    small = ["train.steps=3", "train.batch_size=16", "train.progress=false", "model.dim=32", "model.depth=1",
             "model.heads=2", "decoder.dim=32", "decoder.depth=1", "data.memory_mb=0", "data.workers=1",
             "data.vocab=bpe", "data.vocab_size=500", "data.label_column=y", "data.name=text"]  # fmt: skip
    assert main(["pretrain", "--recipe", "mae", "--data", str(tmp_path / "rt.jsonl"), "--out", str(run), *small]) == 0
    assert main(["evaluate", str(run), "--protocol", "knn"]) == 0
    assert json.loads((run / "eval.json").read_text())["test_rows"] == 40


def test_a_runs_text_is_read_through_its_own_tokenizer(tmp_path):
    """Given a run's spec, text is tokenized by the run's tokenizer, not one trained again
    (WordPiece training is not deterministic); `maskfuse embed` then works on the run's
    data and on new text, cut or padded to the run's length."""
    rotten_tomatoes_lines(tmp_path, rows=200)
    bpe = load_data(cfg_for(tmp_path / "rt.jsonl", "data.label_column=y", "data.vocab=bpe", "data.vocab_size=500"))
    again = load_data(cfg_for(tmp_path / "rt.jsonl", "data.label_column=y", "data.vocab=wordpiece"), bpe.spec)
    assert again.spec == bpe.spec and torch.equal(again.train.inputs, bpe.train.inputs)
    run = tmp_path / "run"
    small = ["train.steps=2", "train.batch_size=16", "train.progress=false", "model.dim=32", "model.depth=1",
             "model.heads=2", "decoder.dim=32", "decoder.depth=1", "data.label_column=y", "data.name=text"]  # fmt: skip
    assert main(["pretrain", "--recipe", "mae", "--data", str(tmp_path / "rt.jsonl"), "--out", str(run), *small]) == 0
    for name in ("a", "b"):
        assert (
            main(["embed", str(run), "--data", str(tmp_path / "rt.jsonl"), "--out", str(tmp_path / f"{name}.npy")]) == 0
        )
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    docs = ["a fine film", "a quiet, moving portrait " * 40, "the worst movie of the year"]  # the second is cut
    (tmp_path / "new.txt").write_text("\n".join(docs) + "\n")
    out = tmp_path / "new.npy"
    assert main(["embed", str(run), "--data", str(tmp_path / "new.txt"), "--out", str(out), "--split", "all"]) == 0
    model = load(run)
    want = np.asarray(model.embed(encode_with_spec(model.spec, docs)))
    got = np.load(out)
    assert sorted(map(tuple, got.round(4).tolist())) == sorted(map(tuple, want.round(4).tolist()))


def test_a_table_text_column_is_streamed_to_a_file_and_read_by_row(tmp_path, monkeypatch):
    import csv
    import pickle

    path = rotten_tomatoes(tmp_path, rows=500)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    rows[8][1] = 'two lines,\nwith a comma and "quotes"'  # a quoted cell over two lines
    with (tmp_path / "rt.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    settings = ["data.label_column=sentiment", "data.vocab=bpe", "data.vocab_size=600"]
    held, lazy = (
        load_data(cfg_for(tmp_path / "rt.csv", *settings, m)) for m in ("data.memory_mb=1024", "data.memory_mb=0")
    )
    docs = lazy.train.cells.docs
    assert held.train.in_memory and isinstance(docs, TableDocs) and held.spec == lazy.spec
    assert len(docs) == 500 and docs.texts(np.array([7])) == ['two lines,\nwith a comma and "quotes"']
    assert docs.where(7) == f"{tmp_path / 'rt.csv'}, row 9" and len(pickle.dumps(docs)) < 10_000
    read = []
    texts = TableDocs.texts
    monkeypatch.setattr(TableDocs, "texts", lambda self, rows: read.extend(rows) or texts(self, rows))
    index = torch.tensor([3, 0, len(lazy.train) - 1])
    got, want = lazy.train.batch(index), held.train.batch(index)
    assert len(read) == 3 and torch.equal(got["text"], want["text"]) and torch.equal(got["label"], want["label"])


def test_the_default_vocabulary_and_its_baseline_are_the_same_every_time(tmp_path):
    """BPE (the default) trains deterministically, so two loads of the same text give the
    same ids and the same bag-of-words baseline; WordPiece training does not (3 of 4
    trainings on these snippets differed here), which is why it is not the default."""
    from maskfuse.modalities.text import TextTokenizer

    path = rotten_tomatoes(tmp_path, rows=600)
    a, b = (load_data(cfg_for(path, "data.label_column=sentiment")) for _ in range(2))
    assert a.spec == b.spec and torch.equal(a.test.inputs, b.test.inputs)
    bow = TextTokenizer(a.spec.meta, a.spec.shape[0], 8).raw_features
    assert torch.equal(bow(a.test.inputs), bow(b.test.inputs))


def test_a_split_column_gives_the_split_of_text(tmp_path):
    rows = [{"body": f"a {w} film number {i}", "y": w, "set": "test" if i % 5 == 0 else "train"}
            for i, w in enumerate(["good", "bad"] * 10)]  # fmt: skip
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    s = load_data(cfg_for(tmp_path / "r.jsonl", "data.text_column=body", "data.label_column=y",
                          "data.split_column=set"))  # fmt: skip
    assert len(s.train) == 16 and len(s.test) == 4
    path = rotten_tomatoes(tmp_path, rows=60)
    table = [line.split(",", 1) for line in path.read_text().splitlines()]
    marked = ["sentiment,split,text"]
    marked += [f"{y},{'val' if i < 12 else 'train'},{t}" for i, (y, t) in enumerate(table[1:])]
    (tmp_path / "marked.csv").write_text("\n".join(marked) + "\n")
    s = load_data(cfg_for(tmp_path / "marked.csv", "data.label_column=sentiment", "data.split_column=split"))
    assert len(s.train) == 48 and len(s.test) == 12
    with pytest.raises(DataError, match="needs a .jsonl file or a table"):
        (tmp_path / "d.txt").write_text("one\ntwo\n")
        load_data(cfg_for(tmp_path / "d.txt", "data.label_column=null", "data.split_column=set"))
