"""Setting a run up: notes printed and kept, a batch larger than the data, modality checks."""

import json

import numpy as np
import yaml
from PIL import Image

from maskfuse.cli import main


def pretrain_random_images(tmp_path, shape, classes, *settings):
    """`maskfuse pretrain` on an npz of random uint8 images of `shape` ([N, H, W]) and
    labels cycling through `classes`; returns the run folder."""
    archive = tmp_path / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(archive, images=rng.integers(0, 255, shape, dtype=np.uint8), labels=np.arange(shape[0]) % classes)
    run = tmp_path / "run"
    args = ["pretrain", "--data", str(archive), "--out", str(run), "train.progress=false", "train.monitor_every=0",
            "model.depth=1", *settings]  # fmt: skip
    assert main(args) == 0
    return run


def test_a_batch_larger_than_the_training_split_uses_the_split(tmp_path, capsys):
    run = pretrain_random_images(tmp_path, (45, 8, 8), 3, "train.steps=3", "train.batch_size=128")
    note = "train.batch_size=128 is more than the 36 training rows: each step uses 36 rows"
    assert note in capsys.readouterr().err.replace("\n", " ")
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["batch_size"] == 36
    assert any(note in n for n in json.loads((run / "data_notes.json").read_text()))


def test_skipped_files_are_printed_and_kept_in_the_run(tmp_path, capsys):
    folder = tmp_path / "images"
    for c in ("a", "b"):
        (folder / c).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.full((8, 8), 20 * i, np.uint8)).save(folder / c / f"{i}.png")
    (folder / "a" / "broken.png").write_bytes(b"not a png")
    run = tmp_path / "run"
    args = ["pretrain", "--data", str(folder), "--out", str(run), "train.steps=2", "train.batch_size=8",
            "train.progress=false", "train.monitor_every=0", "model.depth=1", "data.on_error=skip"]  # fmt: skip
    assert main(args) == 0
    assert "skipped 1 unreadable image files" in capsys.readouterr().err
    kept = json.loads((run / "data_notes.json").read_text())
    assert kept == [
        "skipped 1 unreadable image files (data.on_error=skip)",
        "image.patch_size=2: 8x8 images in a 4x4 grid of patches, chosen from the image size "
        "(set image.patch_size to choose)",
    ]


def test_an_unset_patch_size_is_chosen_from_the_image_size_and_kept(tmp_path, capsys):
    run = pretrain_random_images(tmp_path, (40, 28, 28), 2, "train.steps=2", "train.batch_size=8")
    assert "image.patch_size=7: 28x28 images in a 4x4 grid of patches" in " ".join(capsys.readouterr().err.split())
    assert yaml.safe_load((run / "config.yaml").read_text())["image"]["patch_size"] == 7
