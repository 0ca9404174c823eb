"""The video folder's decoding against bare PyAV on the same clips: what our window, resize
and crop cost over FFmpeg's own decoding.

Usage:
    .venv/bin/python benchmarks/video_decode.py [--rounds 5]

Clips: OpenCV's sample AVIs (Debian's opencv-doc: Megamind.avi MPEG-4 720x528, tree.avi
Cinepak 320x240, vtest.avi MS-MPEG-4 768x576). For each clip, in alternating rounds in one
process after a warm-up:
- "maskfuse": `files.decode_clip`, the video-folder source's read of one clip: 16 frames
  every 4th from the middle (VideoMAE's window), short side to 64 by FFmpeg's area filter,
  centre crop, RGB;
- "bare PyAV": the least any reader of that window must do: open, decode frames in order up
  to the window's last one, convert the 16 wanted ones to RGB at full size.
The medians and their ratio go to benchmarks/results/video_decode.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import time
from pathlib import Path

import av

from maskfuse.config import resolve
from maskfuse.modalities.video.files import decode_clip, frame_count, window

CLIPS = Path("/usr/share/doc/opencv-doc/examples/data")
NAMES = ("Megamind.avi", "tree.avi", "vtest.avi")


def bare(path: Path, wanted: list[int]) -> int:
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                frame.to_ndarray(format="rgb24")
                frames += 1
            if i == wanted[-1]:
                break
    return frames


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    v = resolve(overrides=["video.frames=16", "video.stride=4", "video.size=64"]).video
    rows = {}
    for name in NAMES:
        path = CLIPS / name
        count = frame_count(path)
        wanted = window(count, v)
        ours = functools.partial(decode_clip, path, count, v, str(path))
        theirs = functools.partial(bare, path, wanted)
        ours(), theirs()  # warm-up
        a, b = [], []
        for _ in range(args.rounds):
            a.append(timed(ours))
            b.append(timed(theirs))
        mine, least = statistics.median(a), statistics.median(b)
        rows[name] = {"frames_in_file": count, "window": [wanted[0], wanted[-1]], "maskfuse_s": mine,
                      "bare_pyav_s": least, "ratio": mine / least}  # fmt: skip
        print(f"{name:14s} maskfuse {1000 * mine:7.1f} ms  bare PyAV {1000 * least:7.1f} ms  ratio {mine / least:.2f}")
    out = Path(__file__).resolve().parent / "results" / "video_decode.json"
    found = {"benchmark": "video-folder clip decoding vs bare PyAV", "rounds": args.rounds, "pyav": av.__version__,
             "machine": platform.platform(), "clips": rows}  # fmt: skip
    out.write_text(json.dumps(found, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
