"""The multimodal real path on real data: digits-av and a user manifest through the CLI."""

import json

import numpy as np
import pytest

from maskfuse.api import load
from maskfuse.cli import main
from tests.conftest import fsdd_root
from tests.data.test_paired_sources import DECLARE, media, write_manifest

QUICK = ["train.progress=false", "train.monitor_every=0", "train.batch_size=64", "model.depth=2",
         "eval.protocols=[knn]", "data.max_seconds=0.5"]  # fmt: skip


def test_clip_on_digits_av_aligns_the_modalities(tmp_path):
    run = tmp_path / "run"
    argv = ["pretrain", "--recipe", "clip", f"data.path={fsdd_root()}", "train.steps=150", "--out", str(run), *QUICK]
    assert main(argv) == 0
    assert main(["evaluate", str(run)]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert set(report["results"]) >= {"pretrained · image", "random init · audio", "raw input · text"}
    cross = report["crossmodal"]
    init, pre = cross["random init"], cross["pretrained"]
    # class-level pairing: a retrieved item is right when it shows the query's digit.
    # Random init sits at chance (10 %); measured 60-95 % after 150 steps (half-second clips).
    for pair in ("image->audio", "audio->image", "text->audio"):
        assert init["retrieval"][pair]["class_R@1"] < 25 < 45 < pre["retrieval"][pair]["class_R@1"], pair
    # zero-shot prompts that no training caption uses, and the caption template scored apart
    heldout = "text class names, held-out prompts -> image"
    caption = "text class names, training-caption prompt -> image"
    assert pre["zeroshot"][heldout] > 50 > 25 > init["zeroshot"][heldout]
    assert pre["zeroshot"][caption] > 50 > 25 > init["zeroshot"][caption]
    assert set(pre["joint_retrieval"]) == {"audio,text->image", "image,text->audio", "image,audio->text"}
    assert pre["missing"]["without audio"] > 80
    assert main(["report", str(run)]) == 0
    page = (run / "report" / "report.html").read_text()
    assert 'id="crossmodal"' in page and "mean cross-modal class R@1" in page
    model = load(run)
    z = model.embed(np.zeros((3, 1, 8, 8), np.float32), modality="image", shared=True)
    assert z.shape == (3, 64) and np.allclose(np.linalg.norm(z, axis=1), 1, atol=1e-5)
    out = tmp_path / "audio.npy"
    assert main(["embed", str(run), "--modality", "audio", "--split", "test", "--out", str(out)]) == 0
    assert np.load(out).shape == (360, model.backbone.dim)


@pytest.mark.parametrize(
    ("recipe", "extra"),
    [("croma", []), ("multimae", []), ("symile", []),
     ("multimae", ["data.memory_mb=0", "data.workers=1"])],  # every column read by row, in a worker
)  # fmt: skip
def test_recipes_on_a_user_manifest(tmp_path, recipe, extra):
    rows = media(tmp_path)
    rows[1]["voice"] = None
    rows[4]["caption"] = None
    manifest = write_manifest(tmp_path, rows)
    run = tmp_path / "run"
    argv = ["pretrain", "--recipe", recipe, "--data", "manifest", f"data.path={manifest}", DECLARE, "data.channels=1",
            "train.steps=6", "train.batch_size=4", "eval.baselines=false", "--out", str(run), *QUICK[:2],
            *extra]  # fmt: skip
    assert main(argv) == 0
    assert main(["evaluate", str(run), "--protocols", "knn"]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert (
        "pretrained · caption" in report["results"]
        and "photo->voice" in report["crossmodal"]["pretrained"]["retrieval"]
    )


def test_a_bad_manifest_stops_before_anything_is_written(tmp_path, capsys):
    rows = media(tmp_path, 3)
    rows[1]["photo"] = "missing.png"
    manifest = write_manifest(tmp_path, rows)
    run = tmp_path / "run"
    argv = ["pretrain", "--recipe", "clip", "--data", "manifest", f"data.path={manifest}", DECLARE, "--out", str(run)]
    assert main(argv) != 0
    assert "row 3, column 'photo'" in capsys.readouterr().err
    assert not run.exists()
