"""The video folder: tubelet tokens, frames for the report, two-clip views, the "clips" and
"moving-mnist" sources."""

from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.errors import ConfigError, DataError
from maskfuse.methods.build import build_method
from maskfuse.modalities.video.moving_mnist import bounce, read_idx, render
from maskfuse.modalities.video.tokenizer import frames
from maskfuse.modalities.video.views import ClipViews
from maskfuse.types import DataSpec

MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist-test"


def test_tubelets_cover_time_rows_and_columns():
    spec = DataSpec("video", (1, 4, 8, 8), (0.0,), (1.0,))
    model = build_method(resolve("video-mae", ["video.patch_size=4", "model.size=nano"]), spec)
    tok = model.backbone.tokenizer
    assert tok.grid == (2, 2, 2) and tok.patch == (2, 4, 4)
    x = torch.rand(3, 1, 4, 8, 8)
    boxes = tok.patchify(x)  # tubelet 0: frames 0-1, rows 0-3, columns 0-3
    assert torch.equal(boxes[0, 0].reshape(2, 4, 4), x[0, 0, :2, :4, :4])
    assert torch.equal(boxes[0, 4].reshape(2, 4, 4), x[0, 0, 2:, :4, :4])  # the next tubelet in time


def test_tubelet_must_divide_the_frames():
    spec = DataSpec("video", (1, 5, 8, 8), (0.0,), (1.0,))
    with pytest.raises(ConfigError, match="video.tubelet=2 must divide the clip's 5 frames"):
        build_method(resolve("video-mae"), spec)


def test_frames_lie_in_reading_order_on_a_square_sheet():
    clips = torch.zeros(2, 1, 3, 4, 5)
    clips[:, :, 1] = 1.0  # the middle frame is bright: top right of a 2 x 2 sheet
    image = frames(clips)
    assert image.shape == (2, 1, 8, 10)
    assert float(image[0, 0, :4, 5:].min()) == 1.0 and float(image.sum()) == 2 * 20.0
    six = torch.zeros(1, 1, 6, 4, 5)
    six[:, :, 4] = 1.0  # the fifth frame: the middle of the second row of a 3-wide sheet
    sheet = frames(six)
    assert sheet.shape == (1, 1, 8, 15) and float(sheet[0, 0, 4:, 5:10].min()) == 1.0 and float(sheet.sum()) == 20.0


def views(*overrides):
    return ClipViews(resolve(overrides=["augment.jitter_prob=0", *overrides]))


def test_a_full_view_is_the_clip_itself():
    x = torch.rand(2, 1, 6, 8, 8)
    out = views("video.time_crop=1", "augment.crop_scale=[1,1]", "augment.flip=false")(x)
    assert torch.allclose(out, x, atol=1e-5)


def test_a_view_resamples_whole_frames_in_order():
    torch.manual_seed(0)
    x = torch.arange(8.0).view(1, 1, 8, 1, 1).expand(4, 1, 8, 4, 4).contiguous()  # frame t holds t
    out = views("video.time_crop=0.5", "augment.crop_scale=[1,1]")(x)
    seen = out[:, 0, :, 0, 0]  # the frame index each view frame came from
    assert torch.equal(seen, seen.round()) and bool((seen.diff(dim=1) >= 0).all())
    assert all(len(row.unique()) >= 4 for row in seen)  # at least half the clip


def test_bounce_stays_inside_and_render_pastes_the_digit():
    corners = bounce(50, 20, 36, seed=0)
    assert corners.min() >= 0 and corners.max() <= 36
    assert np.abs(np.diff(corners, axis=1)).max() <= 4  # a step of at most the top speed
    digits = np.random.default_rng(0).integers(1, 255, size=(50, 28, 28), dtype=np.uint8)
    clips = render(digits, corners, 64)
    assert clips.shape == (50, 20, 64, 64)
    assert (clips.reshape(50, 20, -1).sum(-1) == digits.reshape(50, 1, -1).sum(-1)).all()  # whole digit, every frame


def test_idx_files_are_checked(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x00\x09\x03" + b"\x00" * 12)
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(tmp_path / "bad", 3)
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"\x01\x02")
    with pytest.raises(DataError, match=r"the header says \[5\] but the file holds 2 values"):
        read_idx(tmp_path / "short", 1)


def test_clips_archive_reads_channels_first(tmp_path):
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 255, size=(6, 4, 3, 8, 8), dtype=np.uint8)  # [N, T, C, H, W]
    path = str(tmp_path / "c.npz")
    np.savez(path, clips=clips, split=np.array(["train"] * 4 + ["test"] * 2))
    assert data_overrides(path)["name"] == "clips"
    splits = load_data(resolve(overrides=[f"data.path={path}", "data.name=clips"]).data)
    assert splits.spec.modality == "video" and splits.spec.shape == (3, 4, 8, 8)
    got = splits.train.batch(torch.arange(1))["video"][0]
    assert torch.equal(got, torch.as_tensor(clips[0].transpose(1, 0, 2, 3), dtype=torch.float32))


def test_a_clips_array_of_the_wrong_rank_is_named(tmp_path):
    path = str(tmp_path / "c.npz")
    np.savez(path, clips=np.zeros((3, 8, 8)))
    with pytest.raises(DataError, match=r"'clips' must be clips \[N, T, H, W\] or \[N, T, C, H, W\]"):
        load_data(resolve(overrides=[f"data.path={path}", "data.name=clips"]).data)


@pytest.mark.skipif(not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason="needs ../shared/data/mnist-test")
def test_moving_mnist_keeps_train_and_test_digits_apart():
    splits = load_data(resolve(overrides=["data.name=moving-mnist", f"data.path={MNIST}"]).data)
    assert (len(splits.train), len(splits.test)) == (5000, 5000) and splits.spec.shape == (1, 10, 64, 64)
    labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz", 1)
    assert torch.equal(splits.train.labels, torch.as_tensor(labels[:5000], dtype=torch.int64))
    assert torch.equal(splits.test.labels, torch.as_tensor(labels[5000:], dtype=torch.int64))
    digits = read_idx(MNIST / "t10k-images-idx3-ubyte.gz", 3)
    clip = splits.test.batch(torch.arange(1))["video"][0, 0]  # the first test clip holds digit 5000
    assert float(clip[0].sum()) == float(digits[5000].sum())
