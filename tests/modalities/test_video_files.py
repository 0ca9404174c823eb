"""The "video-folder" source: clips encoded here with PyAV (MPEG-4 in AVI, VP9 in WebM), and
OpenCV's sample clips (Debian's opencv-doc, which .ci/run installs) for real codecs."""

from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.errors import DataError
from maskfuse.modalities.video.files import frame_count, needed, window

av = pytest.importorskip("av")
OPENCV = Path("/usr/share/doc/opencv-doc/examples/data")


def write_clip(path: Path, frames: list[np.ndarray], codec: str = "mpeg4") -> Path:
    """Encode [H, W, 3] uint8 frames at 10 frames a second."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())
    return path


def numbered(count: int, h: int = 32, w: int = 48) -> list[np.ndarray]:
    """Frames whose grey level tells their number: frame i is 8 i (mod 256) flat."""
    return [np.full((h, w, 3), 8 * i % 256, np.uint8) for i in range(count)]


def bar(count: int, moving: str) -> list[np.ndarray]:
    """A white bar on black, sliding right or down one pixel-pair a frame."""
    out = []
    for i in range(count):
        f = np.zeros((32, 32, 3), np.uint8)
        if moving == "right":
            f[:, 2 * i : 2 * i + 6] = 255
        else:
            f[2 * i : 2 * i + 6] = 255
        out.append(f)
    return out


def run(path: Path, *overrides: str):
    cfg = resolve(overrides=["data.name=video-folder", f"data.path={path}", *overrides])
    return load_data(cfg.data, run=cfg)


def test_the_window_takes_every_stride_th_frame_from_the_middle():
    v = resolve(overrides=["video.frames=4", "video.stride=3"]).video
    assert needed(v) == 10
    assert window(10, v) == [0, 3, 6, 9]
    assert window(14, v) == [2, 5, 8, 11]


def test_frames_come_from_the_window_in_order_and_grey(tmp_path):
    write_clip(tmp_path / "a.avi", numbered(30))
    write_clip(tmp_path / "b.avi", numbered(30))
    splits = run(tmp_path, "video.frames=4", "video.stride=3", "video.size=16", "video.grey=true",
                 "data.test_fraction=0.5")  # fmt: skip
    x = splits.train.batch(torch.arange(len(splits.train)))["video"]
    assert x.shape == (1, 1, 4, 16, 16)
    levels = x[0, 0].mean(dim=(1, 2)) / 8  # frames 10, 13, 16, 19 of 30: every third from the middle
    assert torch.allclose(levels, torch.tensor([10.0, 13.0, 16.0, 19.0]), atol=0.6)


def test_a_folder_of_classes_reads_rgb_clips_with_labels(tmp_path):
    for i in range(3):
        write_clip(tmp_path / "right" / f"r{i}.avi", bar(12, "right"))
        write_clip(tmp_path / "down" / f"d{i}.webm", bar(12, "down"), codec="libvpx-vp9")
    assert data_overrides(str(tmp_path)) == {"name": "video-folder", "path": str(tmp_path)}
    splits = run(tmp_path, "video.frames=3", "video.stride=4", "video.size=32", "data.test_fraction=0.34")
    assert splits.spec.shape == (3, 3, 32, 32) and splits.spec.class_names == ("down", "right")
    assert len(splits.train) + len(splits.test) == 6
    x, y = (splits.train.batch(torch.arange(len(splits.train)))[k] for k in ("video", "label"))
    for clip, label in zip(x, y):
        first, last = clip[:, 0].mean(0), clip[:, -1].mean(0)  # frames 0 and 8: the bar moved 16 pixels
        axis = 0 if label == 0 else 1  # down: bright rows move; right: bright columns move
        moved = last.mean(1 - axis).argmax() - first.mean(1 - axis).argmax()
        assert 12 <= int(moved) <= 20, (label, moved)


def test_a_short_clip_is_refused_by_name_or_skipped(tmp_path):
    write_clip(tmp_path / "long.avi", numbered(20))
    write_clip(tmp_path / "other.avi", numbered(20))
    write_clip(tmp_path / "short.avi", numbered(5))
    with pytest.raises(DataError, match=r"short.avi: 5 frames; video.frames=4 every video.stride=3 needs 10"):
        run(tmp_path, "video.frames=4", "video.stride=3")
    splits = run(tmp_path, "video.frames=4", "video.stride=3", "data.on_error=skip", "data.test_fraction=0.5")
    assert len(splits.train) + len(splits.test) == 2
    assert any("skipped 1 unreadable or short clips" in n and "short.avi" in n for n in splits.notes)


def test_a_file_that_is_not_video_is_named(tmp_path):
    write_clip(tmp_path / "good.avi", numbered(20))
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all" * 50)
    with pytest.raises(DataError, match=r"broken.mp4: not a readable video"):
        run(tmp_path, "video.frames=2")


def test_an_empty_folder_and_the_settings_reach_the_source(tmp_path):
    with pytest.raises(DataError, match="holds no video files"):
        run(tmp_path)
    write_clip(tmp_path / "a.avi", numbered(40))
    write_clip(tmp_path / "b.avi", numbered(40))
    splits = run(tmp_path, "video.frames=6", "video.stride=2", "video.size=24", "data.test_fraction=0.5")
    assert splits.spec.shape == (3, 6, 24, 24)


@pytest.mark.skipif(not OPENCV.is_dir(), reason="Debian's opencv-doc is not installed")
def test_real_clips_count_frames_from_packets_not_the_header():
    tree = OPENCV / "tree.avi"  # its header declares 444 frames; 68 are there
    assert av.open(str(tree)).streams.video[0].frames == 444
    assert frame_count(tree) == 68
    assert frame_count(OPENCV / "vtest.avi") == 795


@pytest.mark.skipif(not OPENCV.is_dir(), reason="Debian's opencv-doc is not installed")
def test_real_clips_of_three_codecs_decode_square(tmp_path):
    for name in ("Megamind.avi", "tree.avi", "vtest.avi"):  # MPEG-4, Cinepak, MS-MPEG-4
        (tmp_path / name).symlink_to(OPENCV / name)
    splits = run(tmp_path, "video.frames=8", "video.stride=8", "video.size=32", "data.test_fraction=0.34")
    x = torch.cat([s.batch(torch.arange(len(s)))["video"] for s in (splits.train, splits.test)])
    assert x.shape == (3, 3, 8, 32, 32)
    assert (x.std(dim=(2, 3, 4)) > 10).all()  # real pictures, not blank frames


def test_a_folder_claimed_by_two_sources_must_name_one(tmp_path):
    write_clip(tmp_path / "a.avi", numbered(4))
    (tmp_path / "brain.nii.gz").write_bytes(b"")
    with pytest.raises(DataError, match="holds files of several sources \\(nifti-folder, video-folder\\)"):
        data_overrides(str(tmp_path))


def test_a_manifest_pairs_clips_with_captions(tmp_path):
    rows = ["clip,caption,label"]
    for i in range(8):
        moving = ("right", "down")[i % 2]
        write_clip(tmp_path / f"c{i}.avi", bar(12, moving))
        rows.append(f"{'' if i == 5 else f'c{i}.avi'},a bar moving {moving},{moving}")
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    video = ["video.frames=3", "video.stride=4", "video.size=16"]
    overrides = ["data.name=manifest", f"data.path={tmp_path / 'pairs.csv'}", "data.test_fraction=0.25",
                 "data.modalities=[clip:video,caption:text]", *video]  # fmt: skip
    cfg = resolve(overrides=overrides)
    splits = load_data(cfg.data, run=cfg)
    assert splits.spec.parts["clip"].modality == "video" and splits.spec.parts["clip"].shape == (3, 3, 16, 16)
    both = [s.batch(torch.arange(len(s))) for s in (splits.train, splits.test)]
    clips, present = torch.cat([b["clip"] for b in both]), torch.cat([b["present"] for b in both])
    assert int((~present[:, 0]).sum()) == 1 and clips[~present[:, 0]].abs().max() == 0  # row 5 has no clip
    assert clips[present[:, 0]].amax(dim=(1, 2, 3, 4)).min() > 200  # the others show the white bar
    write_clip(tmp_path / "c3.avi", bar(4, "down"))  # now too short for 3 frames every 4th
    with pytest.raises(DataError, match=r"pairs.csv, row 5, column 'clip': .*c3.avi: 4 frames; .* needs 9"):
        load_data(cfg.data, run=cfg)
    with pytest.raises(DataError, match="must be column:kind with kind one of image, audio, text, timeseries, video"):
        load_data(resolve(overrides=[*overrides, "data.modalities=[clip:film]"]).data)


def test_pretrain_then_embed_names_each_clip(tmp_path):
    """A video folder end to end: a short video-mae run, then `embed --split all` writes one
    row per file with its path and class."""
    from maskfuse.cli import main

    pq = pytest.importorskip("pyarrow.parquet")
    for i in range(3):
        write_clip(tmp_path / "clips" / "right" / f"r{i}.avi", bar(12, "right"))
        write_clip(tmp_path / "clips" / "down" / f"d{i}.avi", bar(12, "down"))
    video = ["video.frames=4", "video.stride=2", "video.size=16", "data.test_fraction=0.34"]
    small = ["train.steps=2", "train.batch_size=4", "train.progress=false", "model.size=nano"]
    run, out, folder = tmp_path / "run", tmp_path / "clips.parquet", str(tmp_path / "clips")
    assert main(["pretrain", "--recipe", "video-mae", "--data", folder, "--out", str(run), *video, *small]) == 0
    assert main(["embed", str(run), "--data", folder, "--split", "all", "--out", str(out)]) == 0
    table = pq.read_table(out).to_pydict()
    assert sorted(table["origin"]) == sorted(str(p) for p in (tmp_path / "clips").rglob("*.avi"))
    for origin, name in zip(table["origin"], table["class"]):
        assert f"/{name}/" in origin
