"""The volume folder: 3-D patch tokens, slices for the report, views, the "volumes" source."""

from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.errors import ConfigError, DataError
from maskfuse.modalities.volume.tokenizer import slices
from maskfuse.modalities.volume.views import VolumeViews
from maskfuse.nn.grid_tokens import GridTokenizer, smallest_patch

MODELNET = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "modelnet10" / "modelnet10_vox30.npz"
MODELNET_ARRAYS = "data.arrays=[volumes:X_train,labels:y_train,test_volumes:X_test,test_labels:y_test]"


def test_patchify_round_trip_and_box_order():
    tok = GridTokenizer(2, (4, 6, 8), (2, 3, 4), dim=16, norm_pix=False)
    x = torch.rand(3, 2, 4, 6, 8)
    boxes = tok.patchify(x)
    assert boxes.shape == (3, 2 * 2 * 2, 2 * 3 * 4 * 2) and tok.grid == (2, 2, 2)
    assert torch.equal(tok.unpatchify(boxes), x)
    # box 0 is the corner [:2, :3, :4], channel last; box 1 moves along the last axis
    assert torch.equal(boxes[0, 0].reshape(2, 3, 4, 2).permute(3, 0, 1, 2), x[0, :, :2, :3, :4])
    assert torch.equal(boxes[0, 1].reshape(2, 3, 4, 2).permute(3, 0, 1, 2), x[0, :, :2, :3, 4:])


def test_normalised_targets_decode_back_and_positions_are_3d():
    tok = GridTokenizer(1, (6, 6, 6), (3, 3, 3), dim=24)
    x = torch.rand(2, 1, 6, 6, 6)
    t = tok(x)
    assert t.x.shape == (2, 8, 24) and t.coords.shape == (8, 3) and t.grid == (2, 2, 2)
    assert torch.allclose(t.target.mean(-1), torch.zeros(2, 8), atol=1e-5)
    assert torch.allclose(tok.decode(t.target, t), x, atol=1e-5)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, 3] = True
    assert torch.allclose(tok.reconstruction(x, mask, t.target, t), x, atol=1e-5)


def test_masked_boxes_are_drawn_halfway_through_each_samples_range():
    tok = GridTokenizer(1, (2, 2, 4), (2, 2, 2), dim=8, norm_pix=False)
    x = torch.stack([torch.linspace(0, 10, 16), torch.linspace(-4, 0, 16)]).view(2, 1, 2, 2, 4)
    out = tok.mask_input(x, torch.tensor([[True, False], [False, True]]))
    assert torch.all(tok.patchify(out)[0, 0] == 5.0) and torch.all(tok.patchify(out)[1, 1] == -2.0)
    assert torch.equal(tok.patchify(out)[0, 1], tok.patchify(x)[0, 1])


def test_wrong_sizes_are_named():
    with pytest.raises(ConfigError, match=r"patch \[4, 4, 4\] must divide the volume size \[6, 6, 6\]"):
        GridTokenizer(1, (6, 6, 6), (4, 4, 4), dim=8, what="volume")
    tok = GridTokenizer(1, (6, 6, 6), (3, 3, 3), dim=8, what="volume")
    with pytest.raises(ValueError, match=r"volume tokenizer expects \[B, 1, 6, 6, 6\], got \[2, 1, 6, 6\]"):
        tok(torch.rand(2, 1, 6, 6))


@pytest.mark.parametrize("sizes,side", [((30, 30, 30), 5), ((64, 64, 64), 16), ((12, 12, 12), 2), ((7, 7, 7), 7)])
def test_automatic_patch_side(sizes, side):
    assert smallest_patch(sizes, 216) == side


def test_slices_show_the_three_middle_cuts():
    v = torch.zeros(1, 1, 4, 6, 8)
    v[0, 0, 2, 3, 4] = 1.0  # on all three middle slices
    image = slices(v)  # three 8 x 8 slices on a 2 x 2 sheet
    assert image.shape == (1, 1, 16, 16) and float(image.min()) == 0.0 and float(image.max()) == 1.0
    panels = [image[0, 0, r * 8 : (r + 1) * 8, c * 8 : (c + 1) * 8] for r, c in ((0, 0), (0, 1), (1, 0), (1, 1))]
    assert [float(p.max()) for p in panels] == [1.0, 1.0, 1.0, 0.0]


def views(*overrides):
    return VolumeViews(resolve(overrides=["augment.jitter_prob=0", "augment.noise_std=0", *overrides]))


def test_a_full_crop_without_turns_is_the_volume_itself():
    x = torch.rand(3, 1, 6, 6, 6)
    out = views("augment.crop_scale=[1,1]", "volume.flip=false")(x)
    assert torch.allclose(out, x, atol=1e-5)


@pytest.mark.parametrize("up", [0, 1, 2])
def test_quarter_turns_are_exact_rotations_about_the_up_axis(up):
    torch.manual_seed(0)
    x = torch.rand(8, 1, 6, 6, 6)
    out = views("augment.crop_scale=[1,1]", "volume.flip=false", "volume.rotate=quarter", f"volume.up_axis={up}")(x)
    plane = [1 + a for a in range(3) if a != up]  # the two axes of a [C, D, H, W] sample the turn moves
    for sample, got in zip(x, out):
        turns = [torch.rot90(sample, k, plane) for k in range(4)]
        assert any(torch.allclose(got, t, atol=1e-5) for t in turns)
    assert not torch.allclose(out, x)  # 8 draws of 4 turns: some are not the identity


def write_volumes(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_source_reads_volumes_labels_and_split(tmp_path):
    rng = np.random.default_rng(0)
    path = write_volumes(tmp_path / "v.npz", volumes=rng.random((10, 4, 4, 4)), labels=np.arange(10) % 2,
                         test_volumes=rng.random((4, 4, 4, 4)), test_labels=np.arange(4) % 2)  # fmt: skip
    assert data_overrides(path) == {"name": "volumes", "path": path}
    splits = load_data(resolve(overrides=[f"data.path={path}", "data.name=volumes"]).data)
    assert splits.spec.modality == "volume" and splits.spec.shape == (1, 4, 4, 4) and splits.spec.num_classes == 2
    batch = splits.train.batch(torch.arange(3))
    assert torch.allclose(batch["volume"][:, 0].double(), torch.as_tensor(np.load(path)["volumes"][:3]))
    assert splits.spec.mean[0] == pytest.approx(float(np.load(path)["volumes"].mean()), rel=1e-5)


def test_source_reads_a_bare_npy_unlabelled(tmp_path):
    np.save(tmp_path / "v.npy", np.ones((10, 2, 4, 4, 4), np.uint8))
    splits = load_data(resolve(overrides=[f"data.path={tmp_path / 'v.npy'}", "data.name=volumes"]).data)
    assert splits.spec.shape == (2, 4, 4, 4) and splits.train.labels is None and len(splits.train) == 8


@pytest.mark.parametrize("arrays,message", [
    ({"volumes": np.zeros((3, 4, 4))}, r"'volumes' must be volumes \[N, D, H, W\] or \[N, C, D, H, W\]"),
    ({"volumes": np.zeros((3, 4, 4, 4)), "test_volumes": np.zeros((2, 4, 4, 5))},
     r"'test_volumes' \[4, 4, 5\] differ from 'volumes' \[4, 4, 4\]"),
    ({"images": np.zeros((3, 4, 4))}, "holds images \\('images'\\); this source reads volumes"),
])  # fmt: skip
def test_bad_archives_are_named(tmp_path, arrays, message):
    path = write_volumes(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_data(resolve(overrides=[f"data.path={path}", "data.name=volumes"]).data)


def test_a_nan_voxel_names_its_row(tmp_path):
    v = np.zeros((6, 4, 4, 4), np.float32)
    v[4, 1, 2, 3] = np.nan
    path = write_volumes(tmp_path / "nan.npz", volumes=v, split=np.array(["train"] * 5 + ["test"]))
    with pytest.raises(DataError, match="'volumes' row 4 holds NaN or infinite values"):
        load_data(resolve(overrides=[f"data.path={path}", "data.name=volumes"]).data)


@pytest.mark.skipif(not MODELNET.is_file(), reason="needs ../shared/data/modelnet10")
def test_modelnet10_grids_read_as_volumes():
    cfg = resolve(overrides=[f"data.path={MODELNET}", "data.name=volumes", MODELNET_ARRAYS, "data.memory_mb=0"])
    splits = load_data(cfg.data)  # on demand: the 431 MB int32 archive stays on disk
    assert (len(splits.train), len(splits.test)) == (3991, 908) and splits.spec.num_classes == 10
    x = splits.train.batch(torch.arange(4))["volume"]
    assert x.shape == (4, 1, 30, 30, 30) and set(x.unique().tolist()) <= {0.0, 1.0}


TEMPLATES = Path("/usr/share/mricron/templates")


def nifti(path, array):
    import nibabel

    path.parent.mkdir(parents=True, exist_ok=True)
    nibabel.Nifti1Image(np.asarray(array, np.float32), np.eye(4)).to_filename(str(path))


def test_nifti_folder_reads_class_folders_and_channels(tmp_path):
    rng = np.random.default_rng(0)
    volumes = rng.random((6, 4, 5, 6, 2))  # 4-D: channels last
    for i, v in enumerate(volumes):
        nifti(tmp_path / ("ab"[i % 2]) / f"v{i}.nii.gz", v)
    assert data_overrides(str(tmp_path)) == {"name": "nifti-folder", "path": str(tmp_path)}  # the suffix claims it
    cfg = resolve(overrides=[f"data.path={tmp_path}", "data.name=nifti-folder", "data.test_fraction=0.25"])
    splits = load_data(cfg.data)
    assert splits.spec.shape == (2, 4, 5, 6) and splits.spec.class_names == ("a", "b")
    assert (len(splits.train), len(splits.test)) == (4, 2)
    seen = torch.cat([splits.train.inputs, splits.test.inputs])
    for v in volumes:  # every file, channels first, at float32 precision
        assert any(torch.allclose(s, torch.as_tensor(np.moveaxis(v, 3, 0), dtype=torch.float32)) for s in seen)


def test_nifti_of_another_size_or_a_bad_header_is_named(tmp_path):
    nifti(tmp_path / "a.nii.gz", np.zeros((4, 4, 4)))
    nifti(tmp_path / "b.nii.gz", np.zeros((4, 4, 5)))
    cfg = resolve(overrides=[f"data.path={tmp_path}", "data.name=nifti-folder"])
    with pytest.raises(
        DataError, match=r"b.nii.gz: a volume of \[1, 4, 4, 5\].*a.nii.gz and the rest are \[1, 4, 4, 4\]"
    ):
        load_data(cfg.data)
    (tmp_path / "b.nii.gz").unlink()
    (tmp_path / "c.nii").write_bytes(b"not a nifti header" * 30)
    with pytest.raises(DataError, match="c.nii: not a readable NIfTI volume"):
        load_data(cfg.data)


@pytest.mark.skipif(not (TEMPLATES / "ch2.nii.gz").is_file(), reason="needs Debian's mricron-data")
def test_real_brain_volumes_from_mricron(tmp_path):
    import nibabel

    for name in ("ch2", "ch2bet", "aal"):  # three real 181 x 217 x 181 MNI volumes
        (tmp_path / f"{name}.nii.gz").symlink_to(TEMPLATES / f"{name}.nii.gz")
    cfg = resolve(overrides=[f"data.path={tmp_path}", "data.name=nifti-folder", "data.memory_mb=0"])
    splits = load_data(cfg.data)
    assert splits.spec.shape == (1, 181, 217, 181) and splits.train.labels is None
    first = splits.train.batch(torch.arange(1))["volume"][0, 0]
    truths = [nibabel.load(TEMPLATES / f"{n}.nii.gz").get_fdata(dtype=np.float32) for n in ("ch2", "ch2bet", "aal")]
    assert any(np.array_equal(first.numpy(), t) for t in truths)


def test_a_capped_nifti_folder_keeps_every_class(tmp_path):
    for i in range(12):  # files sort by class: a / a / ... / b / b / ...
        nifti(tmp_path / ("ab"[i // 6]) / f"v{i:02d}.nii", np.full((2, 2, 2), i))
    cfg = resolve(overrides=[f"data.path={tmp_path}", "data.name=nifti-folder", "data.max_train=4"])
    splits = load_data(cfg.data)
    assert len(splits.train) == 4 and set(splits.train.labels.tolist()) == {0, 1}
