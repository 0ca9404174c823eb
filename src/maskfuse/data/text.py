"""Text and id-sequence sources, tokenized with Hugging Face's `tokenizers` library.

Documents come from a text file (one per line), a JSONL file or a CSV / Parquet column.
The vocabulary is trained on the training split only (WordPiece or BPE), built from
the ids themselves (`items`: BERT4Rec-style item sequences), or read from the user's
tokenizer.json. The trained tokenizer is saved in the data spec, so a run reads new
text exactly as in training.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from maskfuse.config import DataConfig
from maskfuse.data.base import ArrayDataset, DataSpec, Splits, source_path, split_indices
from maskfuse.data.columns import read_columns
from maskfuse.data.timeseries import encode_labels
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS

SPECIALS = ["[PAD]", "[UNK]", "[MASK]", "[CLS]", "[SEP]"]  # [PAD] is id 0


def read_documents(path: Path, cfg: DataConfig) -> tuple[list[str | None], list | None, list[str]]:
    """Texts, raw labels (or None) and a name for each row, from any supported file."""
    name = path.name.lower()
    if name.endswith(".txt"):
        lines = path.read_text(encoding="utf-8", errors="strict").splitlines()
        return [ln if ln.strip() else None for ln in lines], None, [f"{path}, line {i + 1}" for i in range(len(lines))]
    if name.endswith(".jsonl"):
        texts, labels, where = [], [], []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path}, line {i + 1}: not JSON ({err.msg})") from None
            if cfg.text_column not in row:
                raise DataError(f"{path}, line {i + 1}: no '{cfg.text_column}' field (data.text_column)")
            texts.append(row[cfg.text_column] or None)
            labels.append(row.get(cfg.label_column) if cfg.label_column else None)
            where.append(f"{path}, line {i + 1}")
        has_labels = cfg.label_column is not None and any(v is not None for v in labels)
        return texts, labels if has_labels else None, where
    cols = read_columns(path)
    texts = list(cols.column(cfg.text_column, "text (data.text_column)"))
    labels = None
    if cfg.label_column is not None:
        labels = list(cols.column(cfg.label_column, "labels (data.label_column; null for none)"))
    return texts, labels, [cols.row_name(i) for i in range(len(texts))]


def build_vocabulary(texts: list[str], cfg: DataConfig) -> Tokenizer:
    """A tokenizer trained on `texts`, or loaded from the path in data.vocab."""
    if cfg.vocab not in ("wordpiece", "bpe", "items"):
        path = Path(cfg.vocab)
        if not path.is_file():
            raise DataError(f"data.vocab={cfg.vocab}: expected wordpiece, bpe, items or a tokenizer.json file")
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as err:  # the library raises plain Exceptions for bad files
            raise DataError(f"{path}: not a tokenizers JSON file ({err})") from err
        for special in ("[PAD]", "[MASK]"):
            if tok.token_to_id(special) is None:
                raise DataError(f"{path}: the tokenizer has no {special} token; maskfuse needs [PAD] and [MASK]")
        return tok
    if cfg.vocab == "items":
        ids = sorted({w for t in texts for w in t.split()})
        vocab = {s: i for i, s in enumerate(SPECIALS)} | {w: len(SPECIALS) + i for i, w in enumerate(ids)}
        tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        return tok
    if cfg.vocab == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        trainer = trainers.WordPieceTrainer(vocab_size=cfg.vocab_size, special_tokens=SPECIALS)
    else:
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        trainer = trainers.BpeTrainer(vocab_size=cfg.vocab_size, special_tokens=SPECIALS)
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainer)
    return tok


def pad_ids(tok: Tokenizer, encoded: list[list[int]], length: int) -> np.ndarray:
    """Id sequences cut or padded with [PAD] to `length`: [N, length] int64."""
    x = np.full((len(encoded), length), tok.token_to_id("[PAD]"), dtype=np.int64)
    for k, ids in enumerate(encoded):
        x[k, : min(len(ids), length)] = ids[:length]
    return x


def vocabulary_meta(tok: Tokenizer) -> dict:
    """What the text tokenizer (and reading new text later) needs, saved in the spec."""
    return {"encoding": tok.to_str(), "vocab_size": tok.get_vocab_size(), "pad_id": tok.token_to_id("[PAD]"),
            "mask_id": tok.token_to_id("[MASK]")}  # fmt: skip


def encode_with_spec(spec: DataSpec, texts: list[str]) -> torch.Tensor:
    """New texts as id sequences [N, L] exactly as a run's training text was read."""
    tok = Tokenizer.from_str(spec.meta["encoding"])
    return torch.as_tensor(pad_ids(tok, [e.ids for e in tok.encode_batch(texts)], spec.shape[0]))


def text_splits(texts, labels, where: list[str], cfg: DataConfig, source: str) -> Splits:
    skip = cfg.on_error == "skip"
    bad = [i for i, t in enumerate(texts) if t is None or not str(t).strip()]
    if bad and not skip:
        raise DataError(f"{where[bad[0]]}: empty text (data.on_error=skip skips empty rows)")
    rows = [i for i in range(len(texts)) if i not in set(bad)]
    y_all, names = None, ()
    if labels is not None:
        y_all, names = encode_labels(np.asarray([labels[i] for i in rows], dtype=object), source)
    tr, te = split_indices(len(rows), y_all, cfg.test_fraction, cfg.split_seed)
    rng = np.random.default_rng(cfg.split_seed)
    tr, te = rng.permutation(tr), rng.permutation(te)
    tok = build_vocabulary([str(texts[rows[i]]) for i in tr], cfg)
    encoded = [e.ids for e in tok.encode_batch([str(texts[i]) for i in rows])]
    notes = [f"skipped {len(bad)} empty rows"] if bad else []
    if cfg.max_length is not None:
        long = [k for k, ids in enumerate(encoded) if len(ids) > cfg.max_length]
        if long and not skip:
            k = long[0]
            raise DataError(
                f"{where[rows[k]]}: {len(encoded[k])} tokens, more than data.max_length={cfg.max_length} "
                "(raise it, or data.on_error=skip)"
            )
        drop = set(long)
        tr, te = np.asarray([k for k in tr if k not in drop]), np.asarray([k for k in te if k not in drop])
        notes += [f"skipped {len(long)} rows longer than {cfg.max_length} tokens"] if long else []
    length = max(len(encoded[k]) for k in [*tr, *te])
    x = pad_ids(tok, encoded, length)
    spec = DataSpec("text", (length,), (0.0,), (1.0,), len(names) or None, names, vocabulary_meta(tok))

    def wrap(idx: np.ndarray) -> ArrayDataset:
        idx = np.asarray(idx, dtype=np.int64)
        return ArrayDataset(torch.as_tensor(x[idx]), None if y_all is None else torch.as_tensor(y_all[idx]), "text")

    return Splits(wrap(tr), wrap(te), spec, source, notes)


@DATASETS.register("text")
def load_text(cfg: DataConfig) -> Splits:
    """A .txt file (one document per line), a .jsonl file, or a CSV / Parquet table
    (data.text_column, data.label_column); item-id sequences with data.vocab=items."""
    path = source_path(cfg.path, "text file (.txt, .jsonl, .csv, .parquet)", "text", folder=False)
    try:
        texts, labels, where = read_documents(path, cfg)
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err})") from err
    if not texts:
        raise DataError(f"{path}: no documents")
    return text_splits(texts, labels, where, cfg, f"text ({path})")
