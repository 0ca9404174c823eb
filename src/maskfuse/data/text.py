"""Text and id-sequence sources, tokenized with Hugging Face's `tokenizers` library.

Documents come from a text file (one per line), a JSONL file or a CSV / Parquet column.
The vocabulary is trained on the training split only (WordPiece or BPE), built from
the ids themselves (`items`: BERT4Rec-style item sequences), or read from the user's
tokenizer.json. The trained tokenizer is saved in the data spec, so a run reads new
text exactly as in training.

A .txt or .jsonl file is read on demand: one pass notes where each line starts (and
JSONL labels), the vocabulary is trained on the training lines streamed from the file,
a second pass counts tokens, and then each batch reads and tokenizes its own lines.
A CSV or Parquet text column is streamed once into a temporary file of its documents
(`text_docs.TableDocs`) and then read the same way. The ids are held in memory instead when both
splits fit in data.memory_mb.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, given_split, source_path, split_indices
from maskfuse.data.columns import TableFile
from maskfuse.data.ondemand import LazyRows, fits
from maskfuse.data.text_docs import DocCells, LineDocs, TableDocs, doc_chunks, index_lines, table_documents
from maskfuse.data.timeseries import encode_labels, marker_codes
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec

SPECIALS = ["[PAD]", "[UNK]", "[MASK]", "[CLS]", "[SEP]"]  # [PAD] is id 0
TEXT_CAP = 512  # tokens per sequence when data.max_length is not set and documents are longer


@dataclass
class TextIds:
    """A `LazyRows` decoder: documents -> their ids, cut or [PAD]-padded to `length`."""

    tok: Tokenizer
    length: int

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.length,)

    def many(self, cells: list[tuple[str, str]]) -> np.ndarray:
        """The ids of the texts of `cells` ((text, where) pairs), tokenized together; an
        empty text (a paired row without it) is all [PAD]."""
        texts = [text for text, _ in cells]
        encoded = self.tok.encode_batch([text for text in texts if text])
        ids = iter(e.ids for e in encoded)
        return pad_ids(self.tok, [next(ids) if text else [] for text in texts], self.length)


@dataclass
class ChunkIds:
    """A `LazyRows` decoder for documents cut into pieces: cells ((text, k), where) -> the
    ids of the k-th run of `length` tokens of each text, [PAD]-padded."""

    tok: Tokenizer
    length: int

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.length,)

    def many(self, cells: list[tuple[tuple[str, int], str]]) -> np.ndarray:
        encoded = self.tok.encode_batch([text for (text, _), _ in cells])
        n = self.length
        return pad_ids(self.tok, [e.ids[k * n : (k + 1) * n] for e, ((_, k), _) in zip(encoded, cells)], n)


@dataclass
class ChunkCells:
    """`LazyRows` cells of document pieces: row i is piece `piece[i]` of document `doc[i]`."""

    docs: LineDocs | TableDocs
    doc: np.ndarray
    piece: np.ndarray

    def __call__(self, rows: np.ndarray) -> list[tuple[tuple[str, int], str]]:
        docs = self.doc[rows]
        texts = self.docs.texts(docs)
        return [((t, int(k)), self.docs.where(d)) for t, k, d in zip(texts, self.piece[rows], docs)]

    def origin(self, rows: np.ndarray) -> list[str]:
        return [f"{self.docs.where(d)}, piece {int(k) + 1}" for d, k in zip(self.doc[rows], self.piece[rows])]


def build_vocabulary(texts: Iterator[str] | list[str], cfg: DataConfig) -> Tokenizer:
    """A tokenizer trained on `texts` (read once, in order), or loaded from the path in data.vocab."""
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
        vocab, size = tok.get_vocab(with_added_tokens=True), tok.get_vocab_size()
        token, top = max(vocab.items(), key=lambda item: item[1])
        if top >= size:  # an embedding of `size` rows could not look it up
            raise DataError(f"{path}: token {token!r} has id {top}, but the vocabulary holds {size} tokens; "
                            f"ids must run from 0 to {size - 1}")  # fmt: skip
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


def column_vocab(cfg: DataConfig, column: str) -> DataConfig:
    """`cfg` with data.vocab set to the tokenizer data.vocabs names for a paired text
    `column`, when it names one."""
    for entry in cfg.vocabs:
        name, _, path = entry.partition(":")
        if name == column:
            return replace(cfg, vocab=path)
    return cfg


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


def fit_ids(ids: torch.Tensor, spec: DataSpec) -> torch.Tensor:
    """Id sequences [N, L] cut or [PAD]-padded to the run's sequence length."""
    length = spec.shape[0]
    if ids.shape[1] >= length:
        return ids[:, :length]
    return torch.nn.functional.pad(ids, (0, length - ids.shape[1]), value=spec.meta["pad_id"])


def encode_with_spec(spec: DataSpec, texts: list[str]) -> torch.Tensor:
    """New texts as id sequences [N, L] exactly as a run's training text was read."""
    tok = Tokenizer.from_str(spec.meta["encoding"])
    return torch.as_tensor(pad_ids(tok, [e.ids for e in tok.encode_batch(texts)], spec.shape[0]))


def text_splits(
    docs: LineDocs | TableDocs, labels: list | None, empty: np.ndarray, cfg: DataConfig, source: str,
    marks: list | None = None,
) -> Splits:  # fmt: skip
    """Splits of the non-empty documents (by the split markers `marks` when given, else
    seeded), tokenized on demand (held as ids when both splits fit in data.memory_mb)."""
    skip = cfg.on_error == "skip"
    bad = np.flatnonzero(empty)
    if len(bad) and not skip:
        raise DataError(f"{docs.where(bad[0])}: empty text (data.on_error=skip skips empty rows)")
    rows = np.flatnonzero(~empty)
    y_all, names = None, ()
    if labels is not None:
        y_all, names = encode_labels(np.asarray([labels[i] for i in rows], dtype=object), source)
    if marks is not None:
        codes, distinct = marker_codes([marks[i] for i in rows])
        where = f"{source}, data.split_column={cfg.split_column}"
        tr, te = given_split(codes, distinct, where, lambda k: docs.where(rows[k]))
    else:
        tr, te = split_indices(len(rows), y_all, cfg.test_fraction, cfg.split_seed, source)
    rng = np.random.default_rng(cfg.split_seed)
    tr, te = rng.permutation(tr), rng.permutation(te)
    tok = build_vocabulary((text for chunk in doc_chunks(docs, rows[tr]) for text in chunk), cfg)
    counts = np.fromiter((len(e.ids) for chunk in doc_chunks(docs, rows) for e in tok.encode_batch(chunk)), np.int64)
    notes = [f"skipped {len(bad)} empty rows"] if len(bad) else []
    longest = int(counts.max())
    length = min(longest, cfg.max_length or TEXT_CAP)
    notes += long_text_notes(counts, length, longest, cfg)
    spec = DataSpec("text", (length,), (0.0,), (1.0,), len(names) or None, names, vocabulary_meta(tok))
    pieces = -(-counts // length) if cfg.text_chunks else np.ones(len(counts), np.int64)  # ceil

    def split(idx: np.ndarray) -> LazyRows:
        """The split's documents, each as many rows as it has pieces (one without chunks)."""
        n = pieces[idx]
        doc, piece = np.repeat(rows[idx], n), np.concatenate([np.arange(k) for k in n])
        y = None if y_all is None else torch.as_tensor(np.repeat(y_all[idx], n))
        if not cfg.text_chunks:
            return LazyRows(DocCells(docs), doc, TextIds(tok, length), "text", y)
        return LazyRows(ChunkCells(docs, doc, piece), np.arange(len(doc)), ChunkIds(tok, length), "text", y)

    train, test = split(tr), split(te)
    if fits(len(train) + len(test), [(2 * length,)], cfg.memory_mb):  # int64 ids: two float32s' room each
        train, test = train.decoded(), test.decoded()
    return Splits(train, test, spec, source, notes)


def long_text_notes(counts: np.ndarray, length: int, longest: int, cfg: DataConfig) -> list[str]:
    """What happened to the documents longer than the sequence length: cut to it, or
    (data.text_chunks) cut into pieces of it, each piece a row."""
    cut = int((counts > length).sum())
    if not cut:
        return []
    why = f"data.max_length={cfg.max_length}" if cfg.max_length else f"at most {TEXT_CAP} unless data.max_length says"
    if cfg.text_chunks:
        extra = int((-(-counts // length) - 1).sum())
        return [f"{cut} of {len(counts)} documents are longer than {length} tokens ({why}; the longest has "
                f"{longest}): cut into pieces of {length}, {extra} more rows (data.text_chunks)"]  # fmt: skip
    return [f"{cut} of {len(counts)} documents are longer than {length} tokens ({why}; the longest has "
            f"{longest}): cut to their first {length} (data.text_chunks=true keeps the rest as more rows)"]  # fmt: skip


@DATASETS.register("text")
def load_text(cfg: DataConfig) -> Splits:
    """A .txt file (one document per line), a .jsonl file, or a CSV / Parquet table
    (data.text_column, data.label_column); item-id sequences with data.vocab=items."""
    path = source_path(cfg.path, "text file (.txt, .jsonl, .csv, .parquet)", "text", folder=False)
    lines = path.name.lower().endswith((".txt", ".jsonl"))
    docs, labels, empty, marks = index_lines(path, cfg) if lines else table_documents(TableFile(path), cfg)
    if not len(docs):
        raise DataError(f"{path}: no documents")
    return text_splits(docs, labels, empty, cfg, f"text ({path})", marks)
