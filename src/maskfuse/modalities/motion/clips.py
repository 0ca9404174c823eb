"""Skeleton sequences as stick-figure clips: the data sources "motion-clips" (the clips alone,
a video source) and "motion-pairs" (each clip paired with the skeleton it was drawn from).

Both read what the "motion" source reads (the same arrays, split and dropped sequences) and
draw every sequence with `render.stick_figures`: `video.frames` frames of `video.size` x
`video.size`, seen from the front of `motion.up_axis`, with the bones of `motion.bones` or,
when none are given, those found from the training frames (named in the data notes).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from maskfuse.config import Config, DataConfig
from maskfuse.data.base import ArrayDataset, Splits
from maskfuse.data.paired import PairedDataset, paired_spec
from maskfuse.errors import ConfigError
from maskfuse.modalities.motion import source
from maskfuse.modalities.motion.render import bones, stick_figures
from maskfuse.modalities.motion.settings import Settings as MotionSettings
from maskfuse.modalities.video.settings import Settings as VideoSettings
from maskfuse.registry import DATASETS
from maskfuse.types import DataSpec


def skeleton(motion: MotionSettings, train: torch.Tensor) -> list[tuple[int, int]]:
    """motion.bones as joint pairs, checked against the data's joints; else found from `train`."""
    joints = train.shape[3]
    if not motion.bones:
        return bones(train)
    out = []
    for entry in motion.bones:
        a, _, b = entry.partition("-")
        if not (a.isdigit() and b.isdigit() and int(a) < joints and int(b) < joints and a != b):
            raise ConfigError(f"motion.bones: '{entry}' must be two joint numbers 'a-b' below the data's {joints}")
        out.append((int(a), int(b)))
    return out


def drawn(cfg: DataConfig, motion: MotionSettings, video: VideoSettings) -> tuple[Splits, Splits]:
    """(the skeletons as the "motion" source reads them, their stick-figure clips)."""
    skeletons = source.load(cfg)
    train = skeletons.train.inputs
    bars = skeleton(motion, train)

    def clips(ds: ArrayDataset) -> ArrayDataset:
        figures = stick_figures(ds.inputs, bars, video.frames, video.size, motion.up_axis)
        return ArrayDataset(figures, ds.labels, "video")

    tr, te = clips(skeletons.train), clips(skeletons.test)
    s = skeletons.spec
    spec = DataSpec("video", tuple(tr.inputs.shape[1:]), (float(tr.inputs.mean()),), (float(tr.inputs.std()),),
                    s.num_classes, s.class_names)  # fmt: skip
    found = "motion.bones" if motion.bones else "found from the training frames"
    note = f"stick figures: bones {' '.join(f'{a}-{b}' for a, b in bars)} ({found})"
    return skeletons, Splits(tr, te, spec, f"stick figures of {skeletons.source}", [*skeletons.notes, note])


def load_clips(cfg: DataConfig, run: Config) -> Splits:
    """The clips alone, labelled as the sequences are."""
    return drawn(cfg, run.motion, run.video)[1]


def load_pairs(cfg: DataConfig, run: Config) -> Splits:
    """Each clip paired with its skeleton: modalities "video" and "motion"."""
    skeletons, clips = drawn(cfg, run.motion, run.video)

    def paired(x: ArrayDataset, y: ArrayDataset) -> PairedDataset:
        present = torch.ones(len(x), 2, dtype=torch.bool)
        return PairedDataset({"video": x.inputs, "motion": y.inputs}, present, x.labels)

    parts = {"video": clips.spec, "motion": skeletons.spec}
    parts = {name: replace(s, num_classes=None, class_names=()) for name, s in parts.items()}
    spec = replace(paired_spec(parts, skeletons.spec.class_names), num_classes=skeletons.spec.num_classes)
    return Splits(paired(clips.train, skeletons.train), paired(clips.test, skeletons.test), spec,
                  f"stick figures paired with {skeletons.source}", clips.notes)  # fmt: skip


for name, load in (("motion-clips", load_clips), ("motion-pairs", load_pairs)):
    load.reads_run = True  # load_data hands these sources the run's config, for motion and video settings
    DATASETS.register(name)(load)
