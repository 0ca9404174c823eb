import pytest
import torch

from maskfuse.errors import ConfigError
from maskfuse.modalities.image import ImageTokenizer, auto_patch


@pytest.mark.parametrize("channels,h,w,p", [(1, 8, 8, 2), (3, 12, 16, 4), (5, 6, 9, 3)])
def test_patchify_round_trip_any_shape(channels, h, w, p):
    tok = ImageTokenizer(channels, h, w, p, dim=16, norm_pix=False)
    x = torch.rand(2, channels, h, w)
    patches = tok.patchify(x)
    assert patches.shape == (2, (h // p) * (w // p), p * p * channels)
    assert torch.equal(tok.unpatchify(patches), x)
    # patch 0 holds the top-left p x p corner, channel-last
    assert torch.equal(patches[0, 0].reshape(p, p, channels).permute(2, 0, 1), x[0, :, :p, :p])


def test_tokens_and_normalised_targets_decode_back():
    tok = ImageTokenizer(3, 8, 8, 4, dim=12, norm_pix=True)
    x = torch.rand(2, 3, 8, 8)
    t = tok(x)
    assert t.x.shape == (2, 4, 12) and t.pos.shape == (1, 4, 12) and t.coords.shape == (4, 2)
    assert t.grid == (2, 2) and bool(t.valid.all())
    assert torch.allclose(t.target.mean(-1), torch.zeros(2, 4), atol=1e-5)
    assert torch.allclose(t.target.std(-1, unbiased=False), torch.ones(2, 4), atol=1e-3)
    assert torch.allclose(tok.decode(t.target, t), x, atol=1e-5)


def test_input_standardisation_uses_the_saved_statistics():
    tok = ImageTokenizer(1, 4, 4, 2, dim=8, norm_pix=False, mean=(0.5,), std=(0.25,))
    x = torch.full((1, 1, 4, 4), 0.75)  # standardises to 1.0 everywhere
    expected = tok.proj(torch.ones(1, 4, 4))
    assert torch.allclose(tok(x).x, expected)
    assert torch.equal(tok(x).target, tok.patchify(x))  # targets stay raw pixels


def test_patch_must_divide_the_image():
    with pytest.raises(ConfigError, match="image.patch_size=3 must divide the image size 8x8"):
        ImageTokenizer(1, 8, 8, 3, dim=8)


def test_wrong_input_shape_is_named():
    tok = ImageTokenizer(3, 8, 8, 2, dim=8)
    with pytest.raises(ValueError, match=r"expects \[B, 3, 8, 8\], got \[2, 1, 8, 8\]"):
        tok(torch.rand(2, 1, 8, 8))


SIDES = [(8, 8, 2), (28, 28, 7), (32, 32, 8), (64, 64, 16), (96, 96, 16), (224, 224, 16), (32, 48, 16), (27, 31, 1)]


@pytest.mark.parametrize("h,w,p", SIDES)
def test_auto_patch_leaves_a_small_grid_and_vit_patches_for_large_images(h, w, p):
    assert auto_patch(h, w) == p
    assert h % p == 0 and w % p == 0
