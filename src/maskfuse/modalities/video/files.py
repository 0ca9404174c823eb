"""The data source "video-folder": a folder of video files, decoded with PyAV batch by batch.

Class sub-folders give labels; a flat folder is unlabelled; the split is data.test_fraction
with data.split_seed. Each clip gives `video.frames` frames, every `video.stride`-th one,
from the middle of the file (so it needs (frames - 1) x stride + 1 frames), resized with
FFmpeg's area filter so the short side is `video.size`, and centre-cropped to size x size,
as RGB (or grey with video.grey). A clip with fewer frames is refused, by name, before
anything trains: padding with repeated frames would teach still video. Lower video.stride
to fit short clips, or set data.on_error=skip to leave them out.

Why PyAV: it binds FFmpeg's own libraries (its wheels carry them), so it decodes whatever
codec FFmpeg does, hands frames over as numpy arrays, and resizes them in FFmpeg's scaler
on the way out. torchvision's reader would tie us to torchvision; decord has no maintained
wheels; OpenCV's reader hides the packets that frames are counted from here.

Frames are counted from the packets of the video stream (the file is read, not decoded):
a header's frame count is missing in WebM / Matroska and can be wrong in AVI (OpenCV's
sample tree.avi declares 444 frames and holds 68). Decoding reads from the start of the
file to the last frame needed; fine for clips of seconds, slow for hour-long films.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskfuse.config import Config, DataConfig
from maskfuse.data.base import FOLDER_SOURCES, Splits, source_path
from maskfuse.data.file_stack import FileStack, class_labels, folder_layout, labelled_files
from maskfuse.data.manifest import FILE_KINDS
from maskfuse.data.npz import array_splits
from maskfuse.errors import DataError
from maskfuse.modalities.video.settings import Settings
from maskfuse.registry import DATASETS

SUFFIXES = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ogv")


def pyav():
    try:
        import av
    except ImportError as err:
        raise DataError("data.name=video-folder decodes video with PyAV: pip install 'maskfuse[video]'") from err
    return av


def frame_count(path: Path) -> int:
    """Frames in the first video stream of `path`, counted from its packets."""
    try:
        with pyav().open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"{path}: holds no video stream")
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except DataError:
        raise
    except Exception as err:  # FFmpeg's errors come as several types
        raise DataError(f"{path}: not a readable video ({type(err).__name__}: {err})") from err


@dataclass
class ClipReader:
    """One file's clip by its row, which says how many frames it holds (a picklable
    `FileStack.read`)."""

    counts: list[int]  # frames each file holds, by row
    settings: Settings

    def __call__(self, path: Path, row: int) -> np.ndarray:
        return decode_clip(path, self.counts[row], self.settings, str(path))


def decode_clip(path: Path, count: int, v: Settings, where: str) -> np.ndarray:
    """[C, T, S, S] uint8 frames of the file at `path` holding `count` frames; errors name `where`."""
    wanted = window(count, v)
    frames: list[np.ndarray] = []
    try:
        with pyav().open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if i == wanted[len(frames)]:
                    frames.append(square(frame, v))
                    if len(frames) == len(wanted):
                        break
    except Exception as err:
        why = f"{type(err).__name__}: {err}"
        raise DataError(f"{where}: frame {len(frames)} of the clip will not decode ({why})") from err
    if len(frames) < len(wanted):
        missing = wanted[len(frames)]
        raise DataError(f"{where}: decoded fewer frames than its {count} packets; frame {missing} is missing")
    clip = np.stack(frames)  # [T, S, S] or [T, S, S, 3]
    return clip[None] if v.grey else clip.transpose(3, 0, 1, 2)


def long_enough(path: Path, v: Settings, where: str) -> int:
    """The frame count of `path`, which must hold the frames that video.frames and video.stride need."""
    count = frame_count(path)
    if count < needed(v):
        raise DataError(f"{where}: {count} frames; video.frames={v.frames} every video.stride={v.stride} needs "
                        f"{needed(v)}. Lower video.stride or video.frames, or leave short clips out with "
                        "data.on_error=skip")  # fmt: skip
    return count


@dataclass
class ClipDecoder:
    """A manifest's video column: (file or None, where) cells -> float32 clips [C, T, S, S]
    (absent cells: zeros), decoded as the video folder decodes them. Each file's frames are
    counted (and checked against the window) the first time this process reads it."""

    settings: Settings
    shape: tuple[int, ...] = ()
    counts: dict[Path, int] = field(default_factory=dict)  # frames of each file read so far

    def __call__(self, source: Path | None, where: str) -> np.ndarray:
        if source is None:  # paired data: this row has no clip
            return np.zeros(self.shape, np.float32)
        if source not in self.counts:
            self.counts[source] = long_enough(source, self.settings, where)
        return decode_clip(source, self.counts[source], self.settings, where).astype(np.float32)

    def many(self, cells: list[tuple[Path | None, str]]) -> np.ndarray:
        return np.stack([self(source, where) for source, where in cells])

    def prime(self, source: Path, where: str) -> np.ndarray:
        """Decode the first clip and fix the shape every other one gets."""
        first = self(source, where)
        self.shape = first.shape
        return first


def needed(v: Settings) -> int:
    """Frames a clip must hold."""
    return (v.frames - 1) * v.stride + 1


def window(count: int, v: Settings) -> list[int]:
    """The frame numbers a clip of `count` frames gives: every stride-th, from its middle."""
    start = (count - needed(v)) // 2
    return list(range(start, start + needed(v), v.stride))


def square(frame, v: Settings) -> np.ndarray:
    """A decoded frame with its short side resized to video.size, centre-cropped square."""
    w, h = frame.width, frame.height
    scale = v.size / min(w, h)
    nw, nh = max(v.size, round(w * scale)), max(v.size, round(h * scale))
    pixels = frame.to_ndarray(format="gray" if v.grey else "rgb24", width=nw, height=nh, interpolation="AREA")
    top, left = (nh - v.size) // 2, (nw - v.size) // 2
    return pixels[top : top + v.size, left : left + v.size]


def load(cfg: DataConfig, run: Config) -> Splits:
    """Every video file under data.path, labelled by class sub-folder when there are any."""
    settings = run.video
    folder = source_path(cfg.path, "folder of video files", "video-folder", folder=True)
    paths, _, _ = labelled_files(folder, SUFFIXES, "video files")
    kept, counts, dropped = [], [], []
    for p in paths:
        try:
            count = long_enough(p, settings, str(p))
        except DataError:
            if cfg.on_error == "raise":
                raise
            dropped.append(p)
            continue
        kept.append(p)
        counts.append(count)
    if not kept:
        raise DataError(f"{folder}: none of the {len(paths)} video files is readable and long enough")
    notes = [f"skipped {len(dropped)} unreadable or short clips (data.on_error=skip): "
             f"{', '.join(p.name for p in dropped[:5])}"] if dropped else []  # fmt: skip
    y, classes = class_labels(kept, folder)
    plan = folder_layout("clips", len(kept), y, classes, cfg, str(folder))
    shape = (1 if settings.grey else 3, settings.frames, settings.size, settings.size)
    stack = FileStack(kept, shape, ClipReader(counts, settings), np.dtype(np.uint8))
    source = f"video-folder ({folder}: {len(kept)} clips)"
    return array_splits({"clips": stack}, plan, stack.shape[1:], "video", cfg.memory_mb, folder, source, notes)


load.reads_run = True  # load_data hands this source the run's config, for its video settings
DATASETS.register("video-folder")(load)
FOLDER_SOURCES.update(dict.fromkeys(SUFFIXES, "video-folder"))  # `--data FOLDER` of clips reads here
FILE_KINDS["video"] = lambda run: ClipDecoder(run.video)  # a manifest's column:video cells are clip files
