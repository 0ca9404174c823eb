import math

import pytest
import torch

from maskfuse.config import AugmentConfig, MaskConfig
from maskfuse.data.augment import SeriesViews
from maskfuse.errors import ConfigError
from maskfuse.masking.tube import TubeSampler
from maskfuse.modalities.timeseries import SeriesTokenizer


def padded(lengths, channels=2, t=20):
    x = torch.randn(len(lengths), channels, t) * 3 + 5
    for i, n in enumerate(lengths):
        x[i, :, n:] = float("nan")
    return x


@pytest.mark.parametrize("mode", ["mixed", "independent"])
def test_patchify_round_trip_and_token_layout(mode):
    tok = SeriesTokenizer(3, 20, 6, dim=16, mode=mode)  # 20 steps -> 4 patches, the last padded
    x = torch.randn(2, 3, 20)
    patches = tok.patchify(x)
    if mode == "mixed":
        assert tok.grid == (4,) and patches.shape == (2, 4, 18)
        assert torch.equal(patches[0, 1].reshape(3, 6), x[0, :, 6:12])  # token 1 = steps 6..11 of every channel
    else:
        assert tok.grid == (3, 4) and patches.shape == (2, 12, 6)
        assert torch.equal(patches[0, 4 + 1], x[0, 1, 6:12])  # token (channel 1, patch 1)
    assert torch.isnan(patches[:, -1, -4:]).all()  # the 4 steps past the end of the series
    assert torch.equal(tok.unpatchify(patches), x)


@pytest.mark.parametrize("mode", ["mixed", "independent"])
def test_padding_becomes_invalid_tokens_and_decode_inverts(mode):
    tok = SeriesTokenizer(2, 20, 5, dim=8, mode=mode)
    x = padded([20, 11, 3])
    t = tok(x)
    per_channel = torch.tensor([[True] * 4, [True, True, True, False], [True, False, False, False]])
    expected = per_channel if mode == "mixed" else per_channel.repeat(1, 2)
    assert torch.equal(t.valid, expected)
    assert torch.isfinite(t.x).all() and torch.isfinite(t.target).all()
    back = tok.decode(t.target, t)
    observed = ~torch.isnan(x)
    assert torch.allclose(back[observed], x[observed], atol=1e-4)


def test_series_normalisation_uses_observed_values_only():
    tok = SeriesTokenizer(2, 20, 5, dim=8)
    x = padded([20, 7])
    t = tok(x)
    values = tok.unpatchify(t.target)
    for i, n in enumerate([20, 7]):
        seen = values[i, :, :n]
        assert torch.allclose(seen.mean(-1), torch.zeros(2), atol=1e-4)
        assert torch.allclose(seen.std(-1, unbiased=False), torch.ones(2), atol=1e-3)


def test_dataset_normalisation_uses_the_saved_statistics():
    tok = SeriesTokenizer(1, 8, 4, dim=8, normalize="dataset", mean=(10.0,), std=(2.0,))
    t = tok(torch.full((1, 1, 8), 14.0))
    assert torch.allclose(t.target, torch.full_like(t.target, 2.0))


def test_tube_mask_hides_the_same_time_patches_in_every_channel():
    tok = SeriesTokenizer(3, 24, 4, dim=8, mode="independent")
    plan = TubeSampler(MaskConfig(ratio=0.5, tube_axis=0))(tok.grid, 4)
    mask = plan.mask.reshape(4, 3, 6)
    assert torch.equal(mask, mask[:, :1].expand(-1, 3, -1))


def test_pictures_and_masked_input_keep_shape_and_gaps():
    tok = SeriesTokenizer(2, 20, 5, dim=8)
    x = padded([20, 9])
    t = tok(x)
    mask = torch.tensor([[True, False, False, True], [False, True, False, False]])
    hidden = tok.mask_input(x, mask)
    assert torch.isnan(hidden[0, :, :5]).all() and not torch.isnan(hidden[0, :, 5:15]).any()
    pics = tok.pictures(x, mask, t.target, t)
    assert all(p.shape == x.shape for p in pics.values())
    assert torch.allclose(pics["reconstruction"][0], x[0], atol=1e-4)  # perfect prediction -> the input
    assert torch.isnan(pics["reconstruction"][1, :, 9:]).all()  # padding stays padding
    assert tok.raw_features(x).shape == (2, 40) and torch.isfinite(tok.raw_features(x)).all()


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match="series.patch_len"):
        SeriesTokenizer(1, 10, 12, dim=8)
    with pytest.raises(ConfigError, match="series.channels"):
        SeriesTokenizer(1, 10, 2, dim=8, mode="stacked")


def test_series_views_identity_when_every_augmentation_is_off():
    views = SeriesViews(AugmentConfig(crop_scale=(1.0, 1.0), shift=0.0, noise_std=0.0, scale_std=0.0))
    x = padded([20, 12])
    out = views(x)
    assert torch.equal(torch.isnan(out), torch.isnan(x))
    assert torch.allclose(out.nan_to_num(), x.nan_to_num(), atol=1e-5)


def test_series_views_crop_stretch_and_keep_padding():
    torch.manual_seed(0)
    views = SeriesViews(AugmentConfig(crop_scale=(0.5, 0.5), shift=0.0, noise_std=0.0, scale_std=0.0))
    ramp = torch.arange(20.0).expand(3, 1, 20).clone()
    ramp[2, :, 10:] = float("nan")
    out = views(ramp)
    assert torch.equal(torch.isnan(out), torch.isnan(ramp))
    for i, n in enumerate([20, 20, 10]):
        seg = out[i, 0, :n]
        span = seg[-1] - seg[0]
        assert math.isclose(float(span), (n * 0.5) - 1, abs_tol=1e-4)  # half the length, stretched
        assert bool((seg.diff() > 0).all())  # a crop of a ramp is still a ramp


def test_series_views_shift_is_circular_and_jitter_scales_with_the_series():
    torch.manual_seed(1)
    x = torch.sin(torch.linspace(0, 6.28, 32)).expand(64, 1, 32).clone() * 100
    shifted = SeriesViews(AugmentConfig(crop_scale=(1.0, 1.0), shift=0.5, noise_std=0.0, scale_std=0.0))(x)
    assert torch.allclose(shifted.sort(-1).values, x.sort(-1).values, atol=1e-3)  # same values, rotated
    noisy = SeriesViews(AugmentConfig(crop_scale=(1.0, 1.0), shift=0.0, noise_std=0.1, scale_std=0.0))(x)
    ratio = float((noisy - x).std() / x.std())
    assert 0.08 < ratio < 0.12
