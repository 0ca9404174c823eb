"""`digits-av`: a class-paired image / audio / text set built from two labelled sets.

CLASS-LEVEL PAIRING, NOT INSTANCE PAIRING. Each scikit-learn digit image is matched
with a spoken recording of the same digit from the Free Spoken Digit Dataset and a short
phrase naming it ("the number seven", "digit 7"). Nothing ties a particular image to
a particular voice: the only shared content is the class. It is the built-in
multimodal demo and test set, and cross-modal retrieval on it measures whether the
shared space groups the same digit across modalities (a retrieved item counts as right
when it is the paired row; class-level metrics say more, see evaluate/crossmodal.py).

Splits follow each source: the digits' fixed stratified split, and FSDD's own (takes
0-4 are the test set), so no test recording or image is seen in training.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits

from maskfuse.config import DataConfig
from maskfuse.data.base import ArrayDataset, Splits, fixed_split
from maskfuse.data.paired import PairedDataset, paired_spec
from maskfuse.data.text import build_vocabulary, column_vocab, pad_ids, vocabulary_meta
from maskfuse.errors import DataError
from maskfuse.modalities.audio.source import load_fsdd
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = ("{w}", "the number {w}", "a handwritten {w}", "digit {d}", "{w} spoken aloud", "the digit {w}")
# Zero-shot prompts that no training caption uses, so zero-shot accuracy measures transfer
# to new wording rather than recall of the captions; the caption template is scored apart.
HELDOUT_PROMPTS = ("the numeral {}", "a picture of {}", "{} said out loud", "it shows {}")
CAPTION_PROMPT = "the number {}"


def class_prompts(class_names: tuple[str, ...]) -> list[str]:
    """Every zero-shot prompt of every class, so the sequence length fits them."""
    return [t.format(name) for name in class_names for t in (*HELDOUT_PROMPTS, CAPTION_PROMPT)]


def match_by_class(labels: np.ndarray, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each label, the index of a `pool` row of the same class: each class's pool is
    shuffled and dealt out in turn, so clips repeat only when a class runs short."""
    out = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        want = np.flatnonzero(labels == c)
        have = rng.permutation(np.flatnonzero(pool == c))
        if len(have) == 0:
            raise DataError(f"digits-av: the audio split has no recording of digit {c}")
        out[want] = have[np.arange(len(want)) % len(have)]
    return out


@DATASETS.register("digits-av")
def load(cfg: DataConfig) -> Splits:
    """Digit images (1x8x8), spoken digits (FSDD, data.path) and number phrases,
    paired by class. data.path is an FSDD checkout (recordings/{digit}_{speaker}_{take}.wav)."""
    if not cfg.path:
        raise DataError(
            "data.name=digits-av pairs scikit-learn digits with the Free Spoken Digit Dataset: set data.path "
            "to an FSDD checkout (https://github.com/Jakobovski/free-spoken-digit-dataset)"
        )
    # a built-in set held in memory: the recordings are read whole whatever data.memory_mb says
    whole = {"name": "fsdd", "max_train": None, "max_test": None, "memory_mb": float("inf")}
    audio = load_fsdd(DataConfig(**{**cfg.__dict__, **whole}))
    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None]
    tr_x, tr_y, te_x, te_y = fixed_split(x, bunch.target.astype(np.int64), cfg.test_fraction, cfg.split_seed)
    rng = np.random.default_rng(cfg.split_seed)
    # FSDD's class names are the digit strings "0".."9"; map them to 0..9
    audio_class = {i: int(name) for i, name in enumerate(audio.spec.class_names)}

    def draw(ys: np.ndarray, clips: ArrayDataset) -> tuple[np.ndarray, list[str]]:
        clip_y = np.asarray([audio_class[int(v)] for v in clips.labels])
        texts = [TEMPLATES[rng.integers(len(TEMPLATES))].format(w=WORDS[c], d=c) for c in ys]
        return match_by_class(ys, clip_y, rng), texts

    (tr_pick, tr_texts), (te_pick, te_texts) = draw(tr_y, audio.train), draw(te_y, audio.test)
    tok = build_vocabulary(tr_texts, column_vocab(DataConfig(vocab_size=200, vocabs=cfg.vocabs), "text"))
    ids = [e.ids for e in tok.encode_batch(tr_texts + te_texts + class_prompts(WORDS))]
    length = max(len(i) for i in ids)

    def build(xs: np.ndarray, ys: np.ndarray, clips: ArrayDataset, pick: np.ndarray, text_ids) -> PairedDataset:
        parts = {"image": torch.as_tensor(xs), "audio": clips.inputs[torch.as_tensor(pick)],
                 "text": torch.as_tensor(pad_ids(tok, text_ids, length))}  # fmt: skip
        return PairedDataset(parts, torch.ones(len(ys), 3, dtype=torch.bool), torch.as_tensor(ys))

    train = build(tr_x, tr_y, audio.train, tr_pick, ids[: len(tr_y)])
    test = build(te_x, te_y, audio.test, te_pick, ids[len(tr_y) : len(tr_y) + len(te_y)])
    image_mean, image_std = float(tr_x.mean()), float(tr_x.std())
    spec = paired_spec(
        {
            "image": DataSpec("image", (1, 8, 8), (image_mean,), (image_std,)),
            "audio": DataSpec("audio", audio.spec.shape, audio.spec.mean, audio.spec.std),
            "text": DataSpec("text", (length,), (0.0,), (1.0,), meta=vocabulary_meta(tok)),
        },
        WORDS,
    )
    spec.meta["heldout_prompts"] = list(HELDOUT_PROMPTS)
    spec.meta["caption_prompt"] = CAPTION_PROMPT
    notes = ["class-level pairing: images, recordings and phrases share only their digit"]
    return Splits(train, test, spec, "digits-av (scikit-learn digits + FSDD + number words)", notes)
