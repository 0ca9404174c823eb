"""The frames method: three deterministic domains, pairwise contrast, no randomness."""

import math

import torch

from maskfuse.data.frames import fourier_frame, morlet_frame
from maskfuse.methods.build import build_method
from tests.conftest import small_config
from tests.test_contracts import series_data


def make(**extra):
    data = series_data()
    cfg = small_config("frames", p="series.patch_len=4", s="series.frame_scales=6", **extra)
    return build_method(cfg, data.spec), data


def test_views_are_deterministic_projections_of_the_standardised_series():
    model, data = make()
    x = data.train.batch(torch.arange(4))["timeseries"]
    a, b = model.projections(x), model.projections(x)
    assert all(torch.allclose(a[k], b[k], equal_nan=True) for k in a)  # no augmentation: the same views every time
    assert a["time"] is x
    assert a["fourier"].shape == (4, 4, 21) and a["wavelet"].shape == (4, 12, 40)
    # the projections see each channel scaled as the tokenizer scales it (series.normalize),
    # then centred on its observed steps, padding as 0
    mean, std = model.backbone.tokenizer.statistics(x)
    z = torch.zeros_like(x)
    for i in range(len(x)):
        for c in range(x.shape[1]):
            seen = ~torch.isnan(x[i, c])
            v = (x[i, c, seen] - mean[i, c]) / std[i, c]
            z[i, c, seen] = v - v.mean()
    f = fourier_frame(z)
    assert torch.allclose(a["fourier"], f / f.pow(2).mean(dim=(1, 2), keepdim=True).sqrt(), atol=1e-5)
    w = morlet_frame(z, model.scales)
    assert torch.allclose(a["wavelet"], w / w.pow(2).mean(dim=(1, 2), keepdim=True).sqrt(), atol=1e-5)


def test_loss_is_the_sum_of_three_pairs_and_two_maps():
    model, data = make()
    out = model(data.train.batch(torch.arange(16)))
    pairs = ["time-fourier", "time-wavelet", "fourier-wavelet"]
    assert set(out.logs) == {*pairs, "map-fourier", "map-wavelet"}
    assert math.isclose(float(out.loss.detach()), sum(out.logs.values()), rel_tol=1e-5)


def test_a_few_steps_align_every_pair_of_domains():
    model, data = make()
    batch = data.train.batch(torch.arange(16))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = model(batch).logs
    for _ in range(40):
        out = model(batch)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    last = out.logs
    for pair in ["time-fourier", "time-wavelet", "fourier-wavelet"]:
        assert last[pair] < 0.5 * first[pair], (pair, first[pair], last[pair])
    assert last["map-fourier"] < first["map-fourier"] and last["map-wavelet"] < first["map-wavelet"]


def test_only_the_time_backbone_is_saved_for_embedding():
    model, data = make()
    x = data.train.batch(torch.arange(8))["timeseries"]
    assert model.backbone(x).shape == (8, 32)
    names = {n.split(".")[0] for n, _ in model.named_parameters()}
    assert names == {"backbone", "fourier", "wavelet", "heads", "maps"}
