"""Typed configuration: the one place defaults live.

Layering is defaults (these dataclasses) -> recipe YAML -> dotted command-line
overrides. Unknown keys and values of the wrong type raise `ConfigError` naming the
dotted key, so a typo never silently trains the wrong model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from maskfuse.config_objectives import (  # noqa: F401 (their sections, importable from here too)
    ClusterConfig,
    ContrastiveConfig,
    MultimodalConfig,
    ReconstructionConfig,
    TeacherConfig,
)
from maskfuse.config_ranges import check_ranges
from maskfuse.config_sections import with_modality_sections
from maskfuse.overrides import from_dict, merge, parse_override, plain
from maskfuse.recipes import read_recipe


@dataclass
class DataConfig:
    name: str = "digits"  # a registered dataset; `maskfuse recipes` and the README list them
    path: str | None = None  # file or folder, for sources that read from disk
    label_column: str | None = "label"  # tables and series files: the label column (None = unlabeled)
    series_format: Literal["wide", "long"] = "wide"  # series-table: one row per series, or id/time/value rows
    id_column: str = "id"  # series-table long form: the series id column
    time_column: str = "time"  # series-table long form: the time column (rows are sorted by it)
    channel_column: str | None = None  # series-table long form: a channel column for multichannel series
    value_column: str = "value"  # series-table long form: the value column
    max_length: int | None = None  # series: crop to this many steps; text: tokens per sequence, longer
    # documents are cut (None: the longest document, at most 512)
    text_chunks: bool = False  # text: cut longer documents into several rows (in one split), not to their start
    sample_rate: int = 8000  # audio: every file is resampled to this rate (polyphase, scipy)
    max_seconds: float = 1.0  # audio: longer clips are cropped, shorter ones padded (and masked as padding)
    label_regex: str | None = None  # audio-folder: a regex whose first group in the file name is the label
    test_regex: str | None = None  # audio-folder / fsdd: files whose name matches form the test split
    text_column: str = "text"  # text sources (CSV / Parquet / JSONL): the column holding the text
    vocab: str = "bpe"  # text: bpe | wordpiece (trained on the training split) | items (ids as words) | a
    # tokenizer.json path (with [PAD] and [MASK]). BPE, as its training is deterministic and WordPiece's
    # is not (huggingface/tokenizers#1794): other vocabularies, other bag-of-words baselines per run
    vocab_size: int = 4000  # text: vocabulary size when training one
    vocabs: tuple[str, ...] = ()  # paired text columns: "column:tokenizer.json" each, else data.vocab
    categorical: tuple[str, ...] = ()  # table: columns to treat as categorical (default: inferred)
    numeric: tuple[str, ...] = ()  # table: columns to treat as numeric (default: inferred)
    on_error: Literal["raise", "skip"] = "raise"  # a bad row or file: stop with its name, or skip and count it
    image_size: int | None = None  # resize every image to this square size (image-folder)
    channels: int | None = None  # expected channel count; None accepts what the data has
    split_column: str | None = None  # tables, text, manifests: a column of train / test (or val) markers that
    # gives the split (any case); without one, a seeded split of data.test_fraction
    test_fraction: float = 0.2  # held-out share for sets that bring no split of their own
    split_seed: int = 0  # seed of that split; fixed so every run evaluates on the same rows
    max_train: int | None = None  # cap on training rows (quick runs and tests)
    max_test: int | None = None  # cap on held-out rows
    memory_mb: float = 1024  # files, archives, text and tables: read once and held decoded when both
    # splits fit in this many MiB, else read batch by batch on demand (0: always on demand)
    workers: int = 0  # DataLoader worker processes reading and decoding batches (0: in the training process)
    shuffle_buffer: int = 2000  # webdataset shards: samples held in the shuffle buffer of each reader
    arrays: tuple[str, ...] = ()  # .npz: "role:array" for arrays named otherwise, roles images | series |
    # labels | test_images | test_series | test_labels | split (train / test / val per row) | classes (names)
    allow_outside: bool = False  # manifest: file paths may leave the manifest's folder (../, absolute)
    modalities: tuple[str, ...] = ()  # manifest: "column:kind" per modality, kind = image | audio | text |
    # timeseries (e.g. optical:image radar:image caption:text); an empty cell means that modality is missing


@dataclass
class ImageConfig:
    patch_size: int | None = None  # None: from the image size (modalities.image.auto_patch; 28x28 -> 7)
    norm_pix: bool = True  # per-patch normalised pixel targets (MAE); False = raw pixels


@dataclass
class SeriesConfig:
    patch_len: int = 8  # time steps per token (PatchTST)
    channels: Literal["mixed", "independent"] = "mixed"  # one token per time patch over all channels,
    # or one token per (channel, time patch) with a shared patch embedding
    normalize: Literal["series", "dataset", "none"] = "dataset"  # training-split stats, or per series (RevIN-style)
    frame_scales: int = 16  # frames method: Morlet wavelet scales, log-spaced from 3 to min(128, T/2)


@dataclass
class ModelConfig:
    size: str = "nano"  # nano | tiny | small | base, see maskfuse.encoder.SIZES
    dim: int | None = None  # overrides the size's width
    depth: int | None = None  # overrides the size's depth
    heads: int | None = None  # overrides the size's head count
    mlp_ratio: float = 4.0  # hidden width of each block's MLP, as a multiple of dim
    cls_token: bool = False  # pooled embedding = cls token if True, else mean of tokens
    init: str | None = None  # start from a maskfuse run / export folder or a .safetensors file (init_from.py)
    init_strict: bool = True  # model.init must fill every weight; false: start from what fits


@dataclass
class DecoderConfig:
    dim: int = 64  # width of the reconstruction decoder (MAE-style methods)
    depth: int = 2  # transformer blocks in the decoder
    heads: int = 4  # attention heads in the decoder


@dataclass
class MaskConfig:
    sampler: str = "random"  # random, block, noise, tube, multiblock, hardpatch, guided
    ratio: float = 0.75  # share of tokens to predict
    min_block: int = 2  # block sampler: smallest block area, in tokens
    max_aspect: float = 3.0  # block sampler: blocks have aspect in [1/max_aspect, max_aspect]
    noise_color: Literal["red", "blue", "green", "purple", "white"] = "green"  # noise sampler (ColorMAE)
    noise_bank: int = 256  # noise sampler: precomputed noise fields per grid shape
    tube_axis: int = 0  # tube sampler: the grid axis (time) along which the mask is constant
    num_targets: int = 4  # multiblock sampler (I-JEPA): target blocks per sample
    target_scale: tuple[float, float] = (0.15, 0.2)  # multiblock: area of each target block, share of the grid
    target_aspect: tuple[float, float] = (0.75, 1.5)  # multiblock: aspect (height / width) of target blocks
    context_scale: tuple[float, float] = (0.85, 1.0)  # multiblock: area of the context block
    hard_start: float = 0.0  # hardpatch (HPM): share of masked tokens picked as hardest, at step 0
    hard_end: float = 0.5  # hardpatch: that share at the last step (easy-to-hard, linear)
    replace_random: float = 0.0  # simmim: share of masked tokens shown as a random other token (BERT: 0.1)
    keep_original: float = 0.0  # simmim: share of masked tokens left as they are (BERT: 0.1)
    guide_temperature: float = 0.0  # guided: 0 masks the top-scored tokens; > 0 samples by softmax(score / t)


@dataclass
class AugmentConfig:
    crop_scale: tuple[float, float] = (0.35, 1.0)  # image / audio: random-resized-crop area range, share of the input
    flip: bool = True  # image: random horizontal flip
    brightness: float = 0.4  # image: pixels scaled by a factor in 1 +- brightness
    contrast: float = 0.4  # image: blended with the grey mean, factor in 1 +- contrast
    saturation: float = 0.4  # 3-channel images: blended with their grey copy, factor in 1 +- saturation
    hue: float = 0.1  # 3-channel images: chroma rotated by up to +- hue turns
    jitter_prob: float = 0.8  # image: share of views that get the colour jitter above
    grayscale_prob: float = 0.2  # 3-channel images: share of views turned grey
    blur_prob: float = 0.3  # image: share of views blurred (Gaussian, sigma 0.1-2.0)
    noise_std: float = 0.05  # series: additive jitter, in units of each series' std; audio: noise vs signal rms
    scale_std: float = 0.1  # series: per-channel scaling factor ~ N(1, scale_std)
    shift: float = 0.1  # series / audio: circular time shift of up to this share of the length
    feature_mask: float = 0.3  # table: share of columns each view hides (they become missing tokens)
    gain_db: float = 6.0  # audio: random gain within +- gain_db
    time_masks: int = 2  # audio: silenced time spans per view (SpecAugment), each up to 10% of the clip
    freq_masks: int = 2  # audio: removed frequency bands per view (SpecAugment), each up to 10% of the band


@dataclass
class TrainConfig:
    steps: int = 600  # optimizer steps of the whole schedule
    budget: str | float | None = None  # wall-clock budget of the run ("15m", "90s", "1h30m" or seconds):
    # replaces steps by the count that fits, timed on steps 10-30 (maskfuse/train/budget.py)
    batch_size: int = 128  # samples per step, summed over ranks
    lr: float = 1.5e-3  # peak learning rate of AdamW, after warm-up
    min_lr_ratio: float = 0.01  # final lr = lr * min_lr_ratio
    weight_decay: float = 0.05  # AdamW weight decay (not on norms, biases, cls and mask tokens)
    betas: tuple[float, float] = (0.9, 0.95)  # AdamW betas
    warmup_steps: int = 20  # linear warm-up from 0 to lr
    schedule: Literal["cosine", "wsd"] = "cosine"  # lr schedule after warm-up: cosine decay, or warmup-stable-decay
    decay_fraction: float = 0.2  # wsd: share of steps spent decaying at the end
    grad_clip: float | None = 1.0  # clip the gradients' global norm to this (None: no clipping)
    seed: int = 0  # seed of the weights, masks, views and batch order
    checkpoint_every: int = 200  # steps between checkpoints (written atomically; the last step always)
    keep_checkpoints: int = 1  # how many recent checkpoints stay on disk
    stop_after: int | None = None  # stop cleanly after this step, keeping the schedule of `steps`
    restart_step: int | None = None  # set by `--resume RUN train.steps=N`: from this step the lr warms up
    restart_from: float = 1.0  # again, from this factor, then decays to the new end (train/schedule.py)
    log_every: int = 10  # steps between lines in metrics.jsonl
    monitor_every: int = 100  # online RankMe / k-NN on held-out rows every N steps; 0 = off
    monitor_rows: int = 1000  # held-out rows the online monitors embed
    progress: bool = True  # a progress bar on a terminal, plain lines with an ETA otherwise
    trackers: tuple[str, ...] = ()  # also log to tensorboard, wandb, mlflow, csv (metrics.jsonl: always)
    tensorboard: bool = False  # the same as tensorboard in train.trackers (kept for runs and recipes that set it)
    threads: int | None = None  # torch intra-op threads; None keeps torch's default
    accumulate: int = 1  # gradient accumulation: micro-batches per step (contrastive negatives shrink with them)
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 autocast (GPU; CPU fp32 by default)
    checkpointing: bool = False  # activation checkpointing of every transformer block (less memory, more compute)
    fsdp: bool = False  # under torchrun: shard parameters, gradients and optimizer state (FSDP2) instead of DDP
    compile: bool = False  # torch.compile each transformer block (needs a C++ compiler on CPU, Triton on GPU)
    device: str = "auto"  # auto (cuda when available) | cpu | cuda | cuda:N


@dataclass
class EvalConfig:
    protocols: tuple[str, ...] = ("knn", "linear", "kmeans", "fewshot", "diagnostics")  # also: logreg, finetune
    knn_k: int = 20  # the k the results table shows
    knn_grid: tuple[int, ...] = (1, 5, 10, 20, 50, 100)  # every k reported in eval.json
    knn_temperature: float = 0.07  # weighted k-NN vote: exp(similarity / temperature)
    probe_weight_decays: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2)  # L2 grid, best on validation
    probe_last_n: int = 4  # linear probe also tries the concatenated means of the last n blocks
    kmeans_restarts: int = 3  # k-means runs, the best inertia is kept
    fewshot_shots: tuple[int, ...] = (1, 5, 10)  # labelled rows per class in the few-shot episodes
    fewshot_episodes: int = 20  # episodes averaged per shot count
    finetune_epochs: int = 10  # finetune protocol: epochs over the training split
    finetune_lr: float = 5e-4  # finetune protocol: learning rate
    diagnostics_rows: int = 2000  # rows used for alignment / uniformity
    baselines: bool = True  # also evaluate raw inputs and a random-init encoder
    zeroshot_prompt: str | None = None  # paired data with text: "{}" filled with each class name for
    # zero-shot prototypes (None: the data's held-out templates, e.g. digits-av's, else the bare name)
    batch_size: int = 512  # rows embedded at a time
    stream_rows: int = 20000  # data read on demand (shards, Hugging Face): training rows the probes and k-NN use
    seed: int = 0  # seed of the probes, k-means and few-shot episodes


@dataclass
class CoreConfig:  # the sections every run has; `Config` adds one per modality folder
    method: str = "mae"  # a registered method: mae, simmim, simclr
    modality: str | None = None  # the modality a recipe is made for (text-mlm: text), other data refused; None: any
    run_dir: str | None = None  # None: runs/<method>-<data>-<time>
    data: DataConfig = field(default_factory=DataConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    series: SeriesConfig = field(default_factory=SeriesConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)
    reconstruction: ReconstructionConfig = field(default_factory=ReconstructionConfig)
    contrastive: ContrastiveConfig = field(default_factory=ContrastiveConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    multimodal: MultimodalConfig = field(default_factory=MultimodalConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        return plain(dataclasses.asdict(self))


Config = with_modality_sections(CoreConfig)


def resolve(
    recipe: str | Path | None = None,
    overrides: list[str] | None = None,
    base: dict[str, Any] | None = None,
    data_settings: dict[str, Any] | None = None,
) -> Config:
    """Defaults -> `base` (a saved run's config) -> recipe -> `data_settings` -> overrides."""
    data = Config().to_dict()
    if base is not None:
        data = merge(data, base)
    if recipe is not None:
        data = merge(data, read_recipe(recipe))
    if data_settings:
        data = merge(data, {"data": data_settings})
    for text in overrides or []:
        data = merge(data, parse_override(text))
    cfg = from_dict(Config, data)
    check_ranges(cfg)
    return cfg
