"""Stick-figure clips of skeleton sequences: bones found from the data, the drawing, and the
"motion-clips" / "motion-pairs" sources on synthetic and on MSR Action3D's sequences."""

from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import load_data
from maskfuse.errors import ConfigError
from maskfuse.modalities.motion.render import bones, stick_figures

MSR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "msr-action3d" / "msr_action3d_skeleton.npz"
TREE = [(0, 1), (1, 2), (1, 3), (3, 4)]  # a trunk 0-1, two limbs from 1, a forearm 3-4


def articulated(n: int = 6, frames: int = 20, seed: int = 0) -> np.ndarray:
    """Sequences [n, frames, 5, 3] of the TREE figure: rigid bones of fixed length turning
    freely, the whole figure wandering; joints 2 and 4 are far apart at changing distances."""
    rng = np.random.default_rng(seed)
    length = {b: 0.5 + 0.5 * rng.random() for b in TREE}
    out = np.zeros((n, frames, 5, 3), np.float32)
    for i in range(n):
        for t in range(frames):
            out[i, t, 0] = rng.normal(size=3)
            for a, b in TREE:
                d = rng.normal(size=3)
                out[i, t, b] = out[i, t, a] + length[(a, b)] * d / np.linalg.norm(d)
    return out


def test_bones_are_the_pairs_whose_distance_never_changes():
    x = torch.as_tensor(articulated()).permute(0, 3, 1, 2)  # [N, 3, T, J]
    x[0, :, 15:] = float("nan")  # padding frames are left out
    assert bones(x) == TREE


def drawn(segments: list[tuple[tuple[float, float], tuple[float, float]]], size: int = 20) -> torch.Tensor:
    """One frame of joints at the given (across, up) ends of each segment, drawn with those
    segments as bones."""
    joints = torch.tensor([p for seg in segments for p in seg], dtype=torch.float32)  # [J, 2]
    x = torch.zeros(1, 3, 2, len(joints))
    x[0, 0, :], x[0, 1, :] = joints[:, 0], joints[:, 1]  # x across, y up, z 0
    skeleton = [(2 * i, 2 * i + 1) for i in range(len(segments))]
    return stick_figures(x, skeleton, frames=1, size=size)[0, 0, 0]


def test_an_l_shape_is_drawn_with_up_at_the_top():
    image = drawn([((0.0, 0.0), (0.0, 1.0)), ((0.0, 0.0), (1.0, 0.0))])  # up the left side, along the bottom
    assert (image[16:].amax(dim=0)[3:17] > 0.9).all()  # a bottom band inked across
    assert (image[:, :4].amax(dim=1)[3:17] > 0.9).all()  # a left band inked top to bottom
    assert image[:15, 5:].max() == 0  # nothing away from the two bones
    assert image.max() <= 1.0 and image.min() >= 0.0


def test_one_scale_keeps_proportions_and_centres_the_figure():
    image = drawn([((0.0, 0.0), (0.0, 1.0)), ((0.0, 1.0), (0.5, 1.0))], size=21)  # tall, half as wide
    cols = image.amax(dim=0).nonzero().squeeze(1)
    rows = image.amax(dim=1).nonzero().squeeze(1)
    assert rows.min() <= 2 and rows.max() >= 18  # the taller extent fills the frame but its margins
    assert 9 <= int(cols.max() - cols.min()) <= 12  # the width keeps its half, not stretched
    assert abs(float(cols.float().mean()) - 10) <= 3  # centred across


def write(path: Path, seqs: np.ndarray, labels: np.ndarray) -> Path:
    lengths = [len(s) for s in seqs]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    np.savez(path, frames=np.concatenate(list(seqs)), offsets=offsets, labels=labels)
    return path


def test_pairs_hold_each_sequence_and_its_own_drawing(tmp_path):
    path = write(tmp_path / "m.npz", articulated(12), np.arange(12) % 2)
    run = ["data.name=motion-pairs", f"data.path={path}", "video.frames=4", "video.size=16", "data.test_fraction=0.25"]
    cfg = resolve(overrides=run)
    splits = load_data(cfg.data, run=cfg)
    assert set(splits.spec.parts) == {"video", "motion"} and splits.spec.num_classes == 2
    assert splits.spec.parts["video"].shape == (1, 4, 16, 16) and splits.spec.parts["motion"].shape == (3, 20, 5)
    batch = splits.train.batch(torch.arange(len(splits.train)))
    assert batch["present"].all() and len(batch["label"]) == 9
    again = stick_figures(batch["motion"], TREE, 4, 16)
    assert torch.equal(batch["video"], again)  # the clip of row i is the drawing of row i's skeleton
    assert any("bones 0-1 1-2 1-3 3-4 (found from the training frames)" in n for n in splits.notes)
    clips = load_data(resolve(overrides=[*run, "data.name=motion-clips"]).data)
    assert clips.spec.modality == "video" and clips.spec.shape == (1, 16, 64, 64)  # no run: video's defaults


def test_given_bones_are_checked_against_the_joints(tmp_path):
    path = write(tmp_path / "m.npz", articulated(4), np.arange(4) % 2)
    cfg = resolve(overrides=["data.name=motion-clips", f"data.path={path}", "video.size=8", "motion.bones=[0-1,3-9]"])
    with pytest.raises(ConfigError, match="motion.bones: '3-9' must be two joint numbers 'a-b' below the data's 5"):
        load_data(cfg.data, run=cfg)
    cfg = resolve(overrides=["data.name=motion-clips", f"data.path={path}", "video.size=8", "motion.bones=[0-1]"])
    assert any("bones 0-1 (motion.bones)" in n for n in load_data(cfg.data, run=cfg).notes)


@pytest.mark.skipif(not MSR.is_file(), reason="needs ../shared/data/msr-action3d")
def test_msr_action3d_as_stick_figure_clips():
    cfg = resolve(overrides=["data.name=motion-clips", f"data.path={MSR}", "video.frames=4", "video.size=16"])
    splits = load_data(cfg.data, run=cfg)
    assert len(splits.train) + len(splits.test) == 566  # the all-zero a13_s09_e02 dropped, as by "motion"
    assert splits.spec.shape == (1, 4, 16, 16) and splits.spec.num_classes == 20
    ink = splits.train.inputs.mean(dim=(1, 2, 3, 4))
    assert (ink > 0.03).all() and (ink < 0.4).all()  # every clip shows a figure, none is a blot
    found = next(n for n in splits.notes if n.startswith("stick figures"))
    for limb in ("7-9", "9-11", "8-10", "10-12", "15-17", "16-18", "2-19"):  # arms, feet and head of the body model
        assert f" {limb} " in f" {found.split('(')[0]} "
