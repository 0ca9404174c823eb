"""Hugging Face datasets on disk (save_to_disk and parquet), decoded on demand."""

import io

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from maskfuse.config import resolve
from maskfuse.data import load_data, resident
from maskfuse.errors import DataError

datasets = pytest.importorskip("datasets")


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def digit_images(tmp_path_factory):
    """scikit-learn's digits as a DatasetDict of PNG images with a ClassLabel, on disk both ways."""
    from sklearn.datasets import load_digits

    d = load_digits()
    pixels = (d.images * 255 / 16).astype(np.uint8)
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=list("0123456789"))})
    table = datasets.Dataset.from_dict({"img": [{"bytes": png(a), "path": None} for a in pixels],
                                        "label": d.target.tolist()}, features=features)  # fmt: skip
    root = tmp_path_factory.mktemp("hf")
    both = datasets.DatasetDict({"train": table.select(range(1500)), "test": table.select(range(1500, 1797))})
    both.save_to_disk(str(root / "disk"))
    (root / "hub" / "data").mkdir(parents=True)
    both["train"].to_parquet(str(root / "hub" / "data" / "train-00000-of-00001.parquet"))
    both["test"].to_parquet(str(root / "hub" / "data" / "test-00000-of-00001.parquet"))
    return root, pixels, d.target


def hf(path, *extra):
    return load_data(resolve(overrides=["data.name=hf", f"data.path={path}", *extra]).data)


@pytest.mark.parametrize("layout", ["disk", "hub"])
def test_images_decode_on_demand_with_their_split_and_class_names(digit_images, layout):
    root, pixels, target = digit_images
    s = hf(root / layout, "data.memory_mb=0")
    assert (len(s.train), len(s.test)) == (1500, 297) and not s.train.in_memory
    assert s.spec.modality == "image" and s.spec.shape == (1, 8, 8) and s.spec.class_names == tuple("0123456789")
    batch = s.train.batch(torch.tensor([5, 0, 1499]))
    expected = torch.as_tensor(pixels[[5, 0, 1499]] / 255.0, dtype=torch.float32)[:, None]
    torch.testing.assert_close(batch["image"], expected)
    assert batch["label"].tolist() == target[[5, 0, 1499]].tolist()
    mean = float(pixels[:1500].mean() / 255.0)
    assert s.spec.mean[0] == pytest.approx(mean, abs=1e-5)
    whole = resident(s, 200)
    assert len(whole.train) == 200 and len(whole.test) == 297
    assert whole.test.labels.tolist() == target[1500:].tolist()
    held = hf(root / layout)  # 1.8k 8x8 images fit in data.memory_mb: read once and held
    assert held.train.in_memory and held.spec == s.spec
    torch.testing.assert_close(held.train.inputs[[5, 0, 1499]], expected)


def test_one_split_is_cut_by_the_seeded_fraction(digit_images):
    root, _, _ = digit_images
    s = hf(root / "hub" / "data" / "train-00000-of-00001.parquet", "data.test_fraction=0.25", "data.memory_mb=0")
    assert (len(s.train), len(s.test)) == (1125, 375)
    assert set(s.train.rows.tolist()).isdisjoint(s.test.rows.tolist())


def test_audio_column_decodes_like_the_audio_sources(tmp_path):
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (4000, 9000, 16000)]
    cells = []
    for clip in clips:
        buf = io.BytesIO()
        sf.write(buf, clip, 16000, format="WAV", subtype="FLOAT")
        cells.append({"bytes": buf.getvalue(), "path": None})
    # stored as Audio's arrow struct and cast (encoding through the feature would need torchcodec)
    raw = datasets.Features({"audio": {"bytes": datasets.Value("binary"), "path": datasets.Value("string")},
                             "label": datasets.Value("string")})  # fmt: skip
    table = datasets.Dataset.from_dict({"audio": cells * 4, "label": ["a", "b", "c"] * 4}, features=raw)
    table.cast_column("audio", datasets.Audio(decode=False)).save_to_disk(str(tmp_path / "speech"))
    s = hf(tmp_path / "speech", "data.sample_rate=8000", "data.max_seconds=0.5", "data.test_fraction=0.25",
           "data.memory_mb=0")  # fmt: skip
    assert s.spec.modality == "audio" and s.spec.shape == (1, 4000) and s.spec.class_names == ("a", "b", "c")
    x = s.train.batch(torch.arange(len(s.train)))["audio"]
    lengths = sorted({int(torch.isfinite(row).sum()) for row in x})
    assert lengths == [2000, 4000]  # 0.25 s resampled to 8 kHz, NaN-padded; longer clips cropped to 0.5 s


def test_bad_hf_input_is_named(digit_images, tmp_path):
    root, _, _ = digit_images
    with pytest.raises(DataError, match="column 'label' is not an image column"):
        hf(root / "disk", "data.modalities=[label:image]")
    texts = datasets.Dataset.from_dict({"text": ["a b", "c d"] * 5})
    texts.save_to_disk(str(tmp_path / "texts"))
    with pytest.raises(DataError, match=r"text columns \(text\) go through data.name=text"):
        hf(tmp_path / "texts")
    with pytest.raises(DataError, match="does not exist"):
        hf(tmp_path / "nothing-here")
    broken = datasets.Dataset.from_dict(
        {"img": [{"bytes": b"not a png", "path": None}] * 4},
        features=datasets.Features({"img": datasets.Image(decode=False)}),
    )
    broken.save_to_disk(str(tmp_path / "broken"))
    with pytest.raises(DataError, match="column 'img', row 0: cannot read image"):
        hf(tmp_path / "broken")
