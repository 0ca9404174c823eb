"""The points folder: FPS + k-NN groups, Chamfer targets, projections, views, sources."""

from pathlib import Path

import numpy as np
import pytest
import torch

from maskfuse.config import resolve
from maskfuse.data import data_overrides, load_data
from maskfuse.errors import DataError
from maskfuse.modalities.points.source import surface_points
from maskfuse.modalities.points.tokenizer import PointTokenizer, farthest_points, group, projections
from maskfuse.modalities.points.views import PointViews
from maskfuse.types import DataSpec

MODELNET = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "modelnet10" / "modelnet10_vox30.npz"


def test_farthest_points_spread_out():
    line = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [10, 0, 0], [5, 0, 0]]])
    assert farthest_points(line, 3).tolist() == [[0, 3, 4]]  # start, the far end, then the middle


def test_groups_are_nearest_points_relative_to_their_centre():
    torch.manual_seed(0)
    pts = torch.randn(2, 50, 4)  # x, y, z and a feature
    centres, near = group(pts, 5, 6)
    assert centres.shape == (2, 5, 3) and near.shape == (2, 5, 6, 4)
    for b in range(2):
        for g in range(5):
            d = (pts[b, :, :3] - centres[b, g]).norm(dim=1)
            nearest = pts[b, d.argsort()[:6]]
            got = near[b, g].clone()
            got[:, :3] += centres[b, g]
            assert torch.allclose(got.sort(0).values, nearest.sort(0).values, atol=1e-5)


def test_tokens_targets_and_decoding_back():
    spec = DataSpec("points", (3, 40), (0.0,) * 3, (1.0,) * 3)
    tok = PointTokenizer(spec, groups=4, size=10, dim=16, up=2)
    clouds = torch.randn(2, 3, 40)
    t = tok(clouds)
    assert t.x.shape == (2, 4, 16) and t.pos.shape == (2, 4, 16) and t.sample_coords.shape == (2, 4, 3)
    assert t.target.shape == (2, 4, 30)
    points = tok.decode(t.target, t)  # every group's points, back where they were
    for b in range(2):
        for p in points[b].T:
            assert (clouds[b].T - p).norm(dim=1).min() < 1e-5
    mask = torch.tensor([[True, False, False, False], [False] * 4])
    assert torch.isnan(tok.mask_input(clouds, mask)[0, :, :10]).all()
    shown = tok.pictures(clouds, mask, t.target, t)  # predicting the true points draws the input again
    assert torch.equal(shown["reconstruction"], tok.show(tok.decode(t.target, t)))
    assert torch.equal(shown["masked input"], tok.show(tok.mask_input(clouds, mask)))


def test_projections_draw_each_point_from_three_sides():
    cloud = torch.tensor([[[0.0, 1.0, float("nan")], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])  # 2 points + a NaN
    image = projections(cloud, up=2, side=4)  # from above, the front and the side: 2 points each
    assert image.shape == (1, 1, 8, 8) and float(image.sum()) == 6.0 and float(image[0, 0, 4:, 4:].sum()) == 0.0


def test_raw_baseline_is_an_occupancy_histogram():
    spec = DataSpec("points", (3, 100), (0.0,) * 3, (1.0,) * 3)
    tok = PointTokenizer(spec, groups=4, size=10, dim=16, up=2)
    clouds = torch.rand(3, 3, 100)
    h = tok.raw_features(clouds)
    assert h.shape == (3, 512) and torch.allclose(h.sum(1), torch.ones(3))
    assert torch.equal(tok.raw_features(clouds[:, :, torch.randperm(100)]), h)  # order carries nothing


def test_views_turn_about_the_up_axis_only():
    torch.manual_seed(0)
    clouds = torch.randn(4, 3, 30)
    cfg = resolve(overrides=["augment.scale_std=0", "augment.noise_std=0"])
    out = PointViews(cfg)(clouds)
    assert torch.allclose(out[:, 2], clouds[:, 2])
    assert torch.allclose(out[:, 0] ** 2 + out[:, 1] ** 2, clouds[:, 0] ** 2 + clouds[:, 1] ** 2, atol=1e-5)
    assert not torch.allclose(out, clouds)


def test_surface_points_lie_on_the_surface_in_the_unit_sphere():
    grid = np.zeros((8, 8, 8))
    grid[2:6, 2:6, 2:6] = 1  # a cube: its 8 inner cells are not surface
    pts = surface_points(grid, seed=3, count=200)
    assert pts.shape == (3, 200) and np.linalg.norm(pts, axis=0).max() == pytest.approx(1.0)
    assert np.array_equal(pts, surface_points(grid, seed=3, count=200))  # seeded by the row
    spread = np.abs(pts).max(axis=1)
    assert (spread > 0.5).all()  # points reach every face, not the centre only


def test_points_archive_reads_channels_first_and_checks_width(tmp_path):
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(6, 20, 4)).astype(np.float32)
    path = str(tmp_path / "p.npz")
    np.savez(path, points=pts, split=np.array(["train"] * 4 + ["test"] * 2))
    assert data_overrides(path)["name"] == "points"
    splits = load_data(resolve(overrides=[f"data.path={path}", "data.name=points"]).data)
    assert splits.spec.shape == (4, 20) and torch.equal(splits.train.inputs[0], torch.as_tensor(pts[0].T))
    np.savez(path, points=pts[:, :, :2])
    with pytest.raises(DataError, match=r"'points' must be points \[N, P, 3\] or \[N, P, 3 \+ features\]"):
        load_data(resolve(overrides=[f"data.path={path}", "data.name=points"]).data)
    bad = pts.copy()
    bad[5, 3, 1] = np.nan
    np.savez(path, points=bad)
    with pytest.raises(DataError, match="'points' row 5 holds NaN or infinite values"):
        load_data(resolve(overrides=[f"data.path={path}", "data.name=points"]).data)


@pytest.mark.skipif(not MODELNET.is_file(), reason="needs ../shared/data/modelnet10")
def test_modelnet10_as_surface_points():
    arrays = "data.arrays=[volumes:X_train,labels:y_train,test_volumes:X_test,test_labels:y_test]"
    cfg = resolve(overrides=["data.name=volume-points", f"data.path={MODELNET}", arrays, "data.memory_mb=0"])
    splits = load_data(cfg.data)
    assert (len(splits.train), len(splits.test)) == (3991, 908) and splits.spec.shape == (3, 1024)
    x = splits.test.batch(torch.arange(3))["points"]
    assert x.shape == (3, 3, 1024) and float(x.norm(dim=1).max()) <= 1.0 + 1e-5
