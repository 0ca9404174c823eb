"""The motion folder: resampling, (frames x joint group) tokens, views, the "motion" source."""

from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import load_data
from maskfuse.errors import ConfigError, DataError
from maskfuse.modalities.motion.tokenizer import MotionTokenizer, front_view, resample
from maskfuse.modalities.motion.views import MotionViews
from maskfuse.types import DataSpec

MSR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "msr-action3d" / "msr_action3d_skeleton.npz"


def test_resample_stretches_each_sequence_over_its_own_frames():
    x = torch.full((2, 1, 6, 1), float("nan"))
    x[0, 0, :3, 0] = torch.tensor([0.0, 1.0, 2.0])  # 3 frames
    x[1, 0, :, 0] = torch.arange(6.0)  # 6 frames
    out = resample(x, 5)[:, 0, :, 0]
    assert torch.allclose(out[0], torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0]))
    assert torch.allclose(out[1], torch.tensor([0.0, 1.25, 2.5, 3.75, 5.0]))
    one = torch.full((1, 1, 4, 1), float("nan"))
    one[0, 0, 0, 0] = 7.0
    assert torch.equal(resample(one, 3), torch.full((1, 1, 3, 1), 7.0))  # a single frame repeats


def test_tokens_are_frames_by_joint_groups():
    spec = DataSpec("motion", (3, 10, 8), (0.0,) * 3, (1.0,) * 3)
    tok = MotionTokenizer(spec, frames=8, patch_frames=2, group=4, dim=16, norm_pix=False, up=1)
    x = torch.randn(2, 3, 10, 8)
    t = tok(x)
    assert tok.grid == (4, 2) and t.x.shape == (2, 8, 16) and t.target.shape == (2, 8, 3 * 2 * 4)
    first = resample(x, 8)[0, :, :2, :4]  # token 0: frames 0-1, joints 0-3, channel last
    assert torch.allclose(t.target[0, 0].reshape(2, 4, 3).permute(2, 0, 1), first)
    with pytest.raises(ConfigError, match="group_joints=3 the 8 joints"):
        MotionTokenizer(spec, frames=8, patch_frames=2, group=3, dim=16, norm_pix=False, up=1)


def test_front_view_draws_every_joint():
    motion = torch.zeros(1, 3, 4, 3)
    motion[0, 0, :, 1], motion[0, 1, :, 2] = 1.0, 1.0  # joint 1 to the right, joint 2 up
    image = front_view(motion, up=1, panels=2, side=8)  # two frames side by side
    assert image.shape == (1, 1, 8, 16) and float(image[0, 0, :, :8].sum()) == 3.0
    assert float(image[0, 0, 7, 0]) == 1.0 and float(image[0, 0, 7, 7]) == 1.0 and float(image[0, 0, 0, 0]) == 1.0


def test_views_turn_about_the_up_axis_and_keep_padding():
    torch.manual_seed(0)
    x = torch.full((4, 3, 12, 5), float("nan"))
    x[:, :, :9] = torch.randn(4, 3, 9, 5)
    cfg = resolve(overrides=["augment.scale_std=0", "augment.noise_std=0", "motion.time_crop=1"])
    out = MotionViews(cfg)(x)
    assert torch.isnan(out[:, :, 9:]).all() and not torch.isnan(out[:, :, :9]).any()
    assert torch.allclose(out[:, 1, :9], x[:, 1, :9])  # the up coordinate does not move
    radius = lambda v: v[:, 0, :9] ** 2 + v[:, 2, :9] ** 2  # noqa: E731
    assert torch.allclose(radius(out), radius(x), atol=1e-5)


def write(path, **arrays):
    np.savez(path, **arrays)
    return resolve(overrides=[f"data.path={path}", "data.name=motion"]).data


def test_frames_and_offsets_are_centred_sequences(tmp_path):
    frames = np.random.default_rng(0).normal(size=(12, 4, 3)).astype(np.float32) + 5
    cfg = write(tmp_path / "m.npz", frames=frames, offsets=np.array([0, 3, 7, 12]), labels=np.array([0, 1, 0]),
                split=np.array(["train", "train", "test"]))  # fmt: skip
    splits = load_data(cfg)
    assert splits.spec.shape == (3, 5, 4) and (len(splits.train), len(splits.test)) == (2, 1)
    second = splits.train.inputs[1]  # frames 3-6, centred, then one padding frame
    expected = frames[3:7] - frames[3:7].reshape(-1, 3).mean(0)
    assert torch.allclose(second[:, :4], torch.as_tensor(expected).permute(2, 0, 1), atol=1e-5)
    assert torch.isnan(second[:, 4]).all()


def test_an_all_zero_sequence_is_dropped_and_named(tmp_path):
    frames = np.ones((6, 2, 3), np.float32) * np.arange(6)[:, None, None]
    frames[2:4] = 0
    cfg = write(tmp_path / "m.npz", frames=frames, offsets=np.array([0, 2, 4, 6]),
                split=np.array(["train", "train", "test"]))  # fmt: skip
    splits = load_data(cfg)
    assert len(splits.train) == 1 and any("dropped 1 all-zero sequences" in n and "[1]" in n for n in splits.notes)


@pytest.mark.parametrize("arrays,message", [
    ({"frames": np.zeros((5, 2, 3)), "offsets": np.array([0, 3, 4])}, "'offsets' must rise from 0 to 5"),
    ({"frames": np.zeros((5, 2, 2)), "offsets": np.array([0, 5])}, r"'frames' must be \[F, J, 3\]"),
    ({"motion": np.zeros((2, 4, 3))}, r"'motion' must be \[N, T, J, 3\]"),
    ({"series": np.zeros((2, 4))}, "expected 'frames' with 'offsets', or a padded 'motion' array"),
])  # fmt: skip
def test_bad_archives_are_named(tmp_path, arrays, message):
    with pytest.raises(DataError, match=message):
        load_data(write(tmp_path / "bad.npz", **arrays))


def test_nan_inside_a_sequence_is_named(tmp_path):
    motion = np.ones((3, 4, 2, 3), np.float32)
    motion[1, 3] = np.nan  # padding: fine
    motion[2, 1, 0, 0] = np.nan  # inside: not fine
    with pytest.raises(DataError, match="sequence 2 holds NaN or infinite coordinates"):
        load_data(write(tmp_path / "m.npz", motion=motion))


@pytest.mark.skipif(not MSR.is_file(), reason="needs ../shared/data/msr-action3d")
def test_msr_action3d_cross_subject(tmp_path):
    with np.load(MSR) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["split"] = np.where(arrays["subjects"] % 2 == 1, "train", "test")
    splits = load_data(write(tmp_path / "msr.npz", **arrays))
    assert (len(splits.train), len(splits.test)) == (291, 275) and splits.spec.num_classes == 20
    assert splits.spec.shape == (3, 936, 20)  # the longest sequence; shorter ones padded
    assert any("all-zero" in note for note in splits.notes)  # a13_s09_e02
