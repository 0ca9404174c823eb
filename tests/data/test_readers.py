"""Image files read at their real bit depth."""

import numpy as np
import pytest
from PIL import Image

from maskfuse.config import DataConfig
from maskfuse.data import load_data
from maskfuse.data.readers import read_image


def test_a_16_bit_png_is_scaled_by_its_range_not_clipped(tmp_path):
    values = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)  # 0 .. 63,000
    Image.fromarray(values).save(tmp_path / "deep.png")
    arr = read_image(tmp_path / "deep.png", "L", None)
    assert arr.shape == (1, 8, 8)
    np.testing.assert_allclose(arr[0], values / 65535.0, rtol=1e-6)  # Pillow's convert("L") gives 255 from 1,000 up
    rgb = read_image(tmp_path / "deep.png", "RGB", (4, 4))
    assert rgb.shape == (3, 4, 4) and np.allclose(rgb[0], rgb[2]) and 0.0 < rgb.max() < 1.0


def test_float_images_outside_0_1_use_their_own_min_and_max(tmp_path):
    values = np.linspace(-5, 15, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(values, "F").save(tmp_path / "depth.tiff")
    arr = read_image(tmp_path / "depth.tiff", "L", None)
    np.testing.assert_allclose(arr[0], (values + 5) / 20, atol=1e-6)


def test_a_folder_of_16_bit_pngs_reads_as_greyscale(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(6):
            Image.fromarray(rng.integers(0, 65535, (8, 8), dtype=np.uint16)).save(tmp_path / c / f"{i}.png")
    splits = load_data(DataConfig(name="image-folder", path=str(tmp_path)))
    assert splits.spec.shape == (1, 8, 8)
    assert splits.spec.mean[0] == pytest.approx(0.5, abs=0.1)  # spread over [0, 1], not pinned at 1.0
