import json

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.errors import DataError
from tests.conftest import rotten_tomatoes


def cfg_for(path, *extra):
    return resolve(data_settings=data_overrides(str(path)), overrides=["data.name=text", *extra]).data


def test_rotten_tomatoes_csv_with_a_trained_wordpiece_vocabulary(tmp_path):
    path = rotten_tomatoes(tmp_path, rows=400)
    s = load_data(cfg_for(path, "data.label_column=sentiment", "data.vocab_size=800"))
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


def test_empty_lines_and_long_sequences_name_their_row_or_are_skipped(tmp_path):
    lines = [f"document number {i} says something" for i in range(30)]
    lines[7] = "   "
    lines[12] = " ".join(["word"] * 40)
    (tmp_path / "docs.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"docs.txt, line 8: empty text"):
        load_data(cfg_for(tmp_path / "docs.txt", "data.label_column=null"))
    (tmp_path / "long.txt").write_text("\n".join(lines[:7] + lines[8:]) + "\n")  # no empty line
    with pytest.raises(DataError, match=r"long.txt, line 12: 40 tokens, more than data.max_length=16"):
        load_data(cfg_for(tmp_path / "long.txt", "data.label_column=null", "data.max_length=16", "data.vocab=items"))
    s = load_data(cfg_for(tmp_path / "docs.txt", "data.label_column=null", "data.max_length=16",
                          "data.on_error=skip", "data.vocab=items"))  # fmt: skip
    assert len(s.train) + len(s.test) == 28 and s.spec.shape[0] <= 16 and len(s.notes) == 2


def test_jsonl_rows_and_a_missing_field(tmp_path):
    rows = [{"body": f"a fine {w} film", "y": w} for w in ["good", "bad"] * 10]
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    s = load_data(cfg_for(tmp_path / "r.jsonl", "data.text_column=body", "data.label_column=y", "data.vocab=items"))
    assert s.spec.class_names == ("bad", "good")
    with pytest.raises(DataError, match=r"r.jsonl, line 1: no 'text' field"):
        load_data(cfg_for(tmp_path / "r.jsonl"))
