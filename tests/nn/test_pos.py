import torch

from maskfuse.nn.pos import grid_coords, sincos


def test_grid_coords_row_major():
    c = grid_coords(2, 3)
    assert c.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]


def test_sincos_values_and_distinct_positions():
    emb = sincos(grid_coords(4, 4), 16)
    assert emb.shape == (16, 16)
    # axis 0 occupies the first 8 columns: sin(0)=0 and cos(0)=1 at the origin
    assert torch.allclose(emb[0, :4], torch.zeros(4)) and torch.allclose(emb[0, 4:8], torch.ones(4))
    # first frequency is 1: row coordinate 1 gives sin(1)
    assert abs(float(emb[4, 0]) - float(torch.sin(torch.tensor(1.0)))) < 1e-6
    dists = torch.cdist(emb, emb) + torch.eye(16)
    assert float(dists.min()) > 0.1


def test_sincos_pads_odd_widths():
    emb = sincos(grid_coords(5), 7)
    assert emb.shape == (5, 7)
    assert torch.equal(emb[:, 6], torch.zeros(5))
