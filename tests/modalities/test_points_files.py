"""The "point-folder" source: meshes and point files written here with trimesh, and CGAL's
real meshes and scans (Debian's libcgal-demo carries them; .ci/run unpacks it)."""

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.errors import DataError

trimesh = pytest.importorskip("trimesh")
CGAL = Path(os.environ.get("MASKFUSE_CGAL_DATA", "/usr/share/doc/libcgal-dev/data.tar.gz"))


def run(path: Path, *overrides: str):
    cfg = resolve(overrides=["data.name=point-folder", f"data.path={path}", *overrides])
    return load_data(cfg.data, run=cfg)


def every(splits) -> tuple[torch.Tensor, torch.Tensor | None]:
    parts = [s.batch(torch.arange(len(s))) for s in (splits.train, splits.test)]
    labels = None if "label" not in parts[0] else torch.cat([p["label"] for p in parts])
    return torch.cat([p["points"] for p in parts]), labels


def test_meshes_are_sampled_on_their_surface_in_the_unit_sphere(tmp_path):
    (tmp_path / "box").mkdir()
    (tmp_path / "ball").mkdir()
    for i, suffix in enumerate((".off", ".ply", ".stl")):
        trimesh.creation.box(extents=(2, 2, 2)).apply_translation((5, i, 0)).export(tmp_path / "box" / f"b{i}{suffix}")
        trimesh.creation.icosphere(subdivisions=3, radius=3).export(tmp_path / "ball" / f"s{i}{suffix}")
    assert data_overrides(str(tmp_path)) == {"name": "point-folder", "path": str(tmp_path)}
    splits = run(tmp_path, "points.count=256", "data.test_fraction=0.34")
    assert splits.spec.shape == (3, 256) and splits.spec.class_names == ("ball", "box")
    x, y = every(splits)
    assert x.shape == (6, 3, 256)
    radius = x.norm(dim=1)  # [6, 256]
    assert torch.allclose(radius.amax(dim=1), torch.ones(6), atol=1e-5)  # scaled into the unit sphere
    assert torch.allclose(x.mean(dim=2), torch.zeros(6, 3), atol=1e-5)  # centred
    balls, boxes = x[y == 0], x[y == 1]
    assert (radius[y == 0] > 0.85).all()  # a sphere's points lie on its surface (its sampled centre is off a little)
    assert (radius[y == 1].amin(dim=1) < 0.7).all()  # a cube's face centres lie at 1 / sqrt(3) of its corners
    faces = boxes.abs().amax(dim=1)  # a cube's surface: the largest |coordinate| is the half side
    assert ((faces - faces.amax(dim=1, keepdim=True)).abs() < 0.15).all() and balls.numel()


def test_a_point_file_gives_its_own_points_the_same_each_read(tmp_path):
    pts = np.random.default_rng(0).normal(size=(40, 3))
    for name in ("a", "b"):
        np.savetxt(tmp_path / f"{name}.xyz", pts)
    splits = run(tmp_path, "points.count=100", "points.unit_sphere=false", "data.test_fraction=0.5")
    x, _ = every(splits)
    for cloud in x:  # 100 drawn from 40 with replacement, every one a point of the file
        d = torch.cdist(cloud.T.double(), torch.as_tensor(pts))
        assert d.amin(dim=1).max() < 1e-5
    assert torch.equal(x, every(run(tmp_path, "points.count=100", "points.unit_sphere=false",
                                    "data.test_fraction=0.5"))[0])  # fmt: skip


def test_unreadable_and_empty_files_are_named(tmp_path):
    trimesh.creation.box().export(tmp_path / "good.off")
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat nonsense\n" * 10)
    with pytest.raises(DataError, match=r"bad.ply: not a readable mesh or point file"):
        run(tmp_path)
    (tmp_path / "bad.ply").unlink()
    (tmp_path / "empty.xyz").write_text("")
    with pytest.raises(DataError, match=r"empty.xyz: (holds no points|not a readable)"):
        run(tmp_path)
    (tmp_path / "empty.xyz").unlink()
    (tmp_path / "nan.xyz").write_text("0 0 0\nnan 1 2\n1 1 1\n")
    with pytest.raises(DataError, match=r"nan.xyz: holds NaN or infinite coordinates"):
        run(tmp_path, "points.count=64")


def test_an_empty_folder_is_named(tmp_path):
    with pytest.raises(DataError, match="holds no mesh or point files"):
        run(tmp_path)


@pytest.mark.skipif(not CGAL.is_file(), reason="needs CGAL's data (Debian's libcgal-demo)")
def test_real_meshes_and_scans_from_cgal(tmp_path):
    meshes = ("data/meshes/cow.off", "data/meshes/elk.off", "data/meshes/pig.stl", "data/meshes/b9.ply")
    scans = ("data/points_3/kitten.xyz", "data/points_3/oni.ply")
    with tarfile.open(CGAL) as tar:
        for name in (*meshes, *scans, "data/meshes/P.off"):
            (tmp_path / Path(name).name).write_bytes(tar.extractfile(name).read())
    broken = tmp_path / "P.off"  # its header line trips trimesh's OFF parser
    with pytest.raises(DataError, match="P.off: not a readable mesh or point file"):
        run(tmp_path, "points.count=128")
    broken.unlink()
    x, _ = every(run(tmp_path, "points.count=128", "data.test_fraction=0.34"))
    assert x.shape == (6, 3, 128) and torch.isfinite(x).all()
    assert torch.allclose(x.norm(dim=1).amax(dim=1), torch.ones(6), atol=1e-5)
    assert (x.std(dim=2) > 0.05).all()  # real shapes spread over all three axes
