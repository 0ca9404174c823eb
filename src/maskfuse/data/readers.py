"""One image or audio file (or its encoded bytes) -> a float32 array.

Images are read with Pillow, audio with soundfile (WAV, FLAC, OGG, MP3 from libsndfile
1.1, Opus from 1.0.29, and the rest of libsndfile), mixed down to mono and resampled with scipy's polyphase resampler.
Every failure is a DataError that names the file (or the table cell) it came from.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
from PIL import Image, UnidentifiedImageError
from scipy.signal import resample_poly

from maskfuse.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"}
if "MP3" in sf.available_formats():  # libsndfile 1.1 and later
    AUDIO_SUFFIXES.add(".mp3")
if "OPUS" in sf.available_subtypes("OGG"):
    AUDIO_SUFFIXES.add(".opus")
# audio libsndfile never decodes (AAC in MP4 containers, WMA): named in a clear refusal, not read as images
UNDECODABLE_AUDIO = {".m4a", ".aac", ".wma", ".mp3", ".opus"} - AUDIO_SUFFIXES
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def image_mode(paths: list[Path | BinaryIO], channels: int | None, where: str | None = None) -> str:
    """The PIL mode every image is converted to: from data.channels, else the commonest
    among the first 64 (files, or encoded bytes: errors then name `where` and the row)."""
    if channels is not None:
        if channels not in MODES:
            raise DataError(f"data.channels={channels}: image folders hold 1, 3 or 4 channels")
        return MODES[channels]
    counts: Counter[str] = Counter()
    for i, path in enumerate(paths[:64]):
        with _open(path, f"{where}, row {i}" if where else None) as im:
            counts[_mode_of(im)] += 1
    return counts.most_common(1)[0][0]


SIZE_SAMPLE = 256  # image headers read, spread over the files, to choose the mode and size


def image_format(
    paths: list[Path], channels: int | None, image_size: int | None, names: list[str] | None = None
) -> tuple[str, tuple[int, int] | None, list[str]]:
    """(PIL mode, (width, height) to resize to or None, notes) for a set of image files
    (named in errors by `names`, default their paths).

    The mode comes from data.channels, else the commonest of `SIZE_SAMPLE` headers spread
    over the files. The size is data.image_size when set; else, when the sampled images
    differ in size, the commonest one, and a note says so. Files of another size than
    the run's are resized to it when read."""
    pick = np.unique(np.linspace(0, len(paths) - 1, min(SIZE_SAMPLE, len(paths))).round().astype(int))
    modes: Counter[str] = Counter()
    sizes: Counter[tuple[int, int]] = Counter()
    for i in pick:
        with _open(paths[i], names[i] if names else None) as im:
            modes[_mode_of(im)] += 1
            sizes[im.size] += 1
    if channels is not None and channels not in MODES:
        raise DataError(f"data.channels={channels}: image folders hold 1, 3 or 4 channels")
    mode = MODES[channels] if channels is not None else modes.most_common(1)[0][0]
    if image_size is not None:
        return mode, (image_size, image_size), []
    if len(sizes) == 1:
        return mode, None, []
    (w, h), _ = sizes.most_common(1)[0]
    seen = ", ".join(f"{a}x{b}" for (a, b), _ in sizes.most_common(4))
    note = (
        f"images differ in size ({seen} among {len(pick)} sampled files); all are resized to {w}x{h}, "
        "the commonest (data.image_size=N resizes to N x N instead)"
    )
    return mode, (w, h), [note]


def _mode_of(im: Image.Image) -> str:
    return "RGBA" if "A" in im.getbands() else "L" if im.mode in ("L", "1", "F") or im.mode.startswith("I") else "RGB"


def _open(path: Path | BinaryIO, where: object = None) -> Image.Image:
    """The image's header, opened: nothing decoded yet. An image of more pixels than
    Pillow's decompression-bomb limit (about 89 megapixels) is refused here, before its
    pixels are decoded, naming the file."""
    try:
        with warnings.catch_warnings():  # refused below with a clear error, rather than warned about
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError as err:
        raise DataError(f"{where or path}: {err}; refused before decoding") from err
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(f"{where or path}: cannot read image ({err})") from err
    w, h = im.size
    if w * h > Image.MAX_IMAGE_PIXELS:
        im.close()
        raise DataError(
            f"{where or path}: {w}x{h} pixels, more than {Image.MAX_IMAGE_PIXELS:,} (Pillow's decompression-bomb "
            "limit); refused before decoding. Resize it first"
        )
    return im


def read_image(
    path: Path | BinaryIO, mode: str, size: int | tuple[int, int] | None, where: str | None = None
) -> np.ndarray:
    """One image (a file, or encoded bytes named `where`) as float32 [C, H, W] in [0, 1],
    resized to `size` (N for N x N, or (width, height)) when given; a clear error names a
    corrupt file."""
    where = where or path
    size = (size, size) if isinstance(size, int) else size
    try:
        with _open(path, where) as im:
            if im.mode.startswith("I;16") or im.mode in ("I", "F"):
                return _deep_image(im, mode, size)
            im = im.convert(mode)
            if size is not None and im.size != size:
                im = im.resize(size, Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{where}: cannot read image ({err})") from err
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _deep_image(im: Image.Image, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """A 16-bit, 32-bit integer or float greyscale image scaled by its real range rather
    than clipped at 255 (Pillow's convert("L") would turn most of it white): 16-bit by
    65,535, integers that fit 8 bits by 255, others and floats by their own min and max."""
    arr = np.asarray(im, dtype=np.float64)
    if im.mode.startswith("I;16") or (im.mode == "I" and arr.min() >= 0 and arr.max() <= 65535):
        arr = arr / (255.0 if arr.max() <= 255 and im.mode == "I" else 65535.0)
    elif arr.size and not (arr.min() >= 0 and arr.max() <= 1):
        low, high = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (arr - low) / (high - low) if high > low else np.zeros_like(arr)
    grey = Image.fromarray(arr.astype(np.float32), "F")
    if size is not None and grey.size != size:
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    out = np.clip(np.asarray(grey, dtype=np.float32), 0.0, 1.0)[None]
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    if channels == 4:  # grey as RGB, fully opaque
        return np.concatenate([np.repeat(out, 3, 0), np.ones_like(out)])
    return np.repeat(out, channels, 0)


def read_audio(path: Path | BinaryIO, rate: int, where: str | None = None) -> np.ndarray:
    """Mono float32 samples of `path` (a file, or encoded bytes named `where`) at `rate` Hz;
    a DataError names an unreadable file."""
    where = where or path
    try:
        data, file_rate = sf.read(str(path) if isinstance(path, Path) else path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        raise DataError(f"{where}: cannot read audio ({err})") from err
    if data.shape[0] == 0:
        raise DataError(f"{where}: the file holds no samples")
    mono = data.mean(axis=1)
    if file_rate != rate:
        g = math.gcd(int(file_rate), int(rate))
        mono = resample_poly(mono, rate // g, int(file_rate) // g).astype(np.float32)
    if not np.isfinite(mono).all():
        raise DataError(f"{where}: holds NaN or infinite samples")
    return mono


def pad_clip(wave: np.ndarray, samples: int) -> np.ndarray:
    """[1, samples]: `wave` cropped, or padded at the end with NaN (padding, masked downstream)."""
    clip = np.full((1, samples), np.nan, dtype=np.float32)
    clip[0, : min(len(wave), samples)] = wave[:samples]
    return clip


def readable(path: Path, kind: str) -> bool:
    """Whether the header of an image / audio file can be read and announces samples (a
    quick check that decodes nothing)."""
    try:
        if kind == "audio":
            return sf.info(str(path)).frames > 0
        with _open(path):
            pass
    except (sf.LibsndfileError, RuntimeError, OSError, DataError):
        return False
    return True
