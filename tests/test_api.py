import numpy as np
import torch

import maskfuse
from maskfuse.data import load_data
from tests.conftest import small_config


def test_load_embed_matches_the_trained_backbone(tmp_path):
    cfg = small_config("simclr", s="train.steps=4")
    run = maskfuse.pretrain(cfg, tmp_path / "run")
    model = maskfuse.load(run)
    assert model.step == 4 and model.config.method == "simclr"
    images = load_data(cfg.data).test.inputs[:10]
    emb = model.embed(images.numpy())
    assert emb.shape == (10, 32)
    assert np.allclose(emb, model.embed(images[:, 0]), atol=1e-6)  # [N, H, W] for grey images
    with torch.no_grad():
        assert np.allclose(emb, model.backbone(images).numpy(), atol=1e-6)


def test_evaluate_runs_and_random_init_is_the_starting_point(tmp_path):
    cfg = small_config("mae", s="train.steps=2", d="data.max_train=200", t="data.max_test=60")
    run = maskfuse.pretrain(cfg, tmp_path / "run")
    report = maskfuse.evaluate(run)
    rows = report["results"]
    assert rows["raw input"]["diagnostics"]["dim"] == 64 and rows["pretrained"]["diagnostics"]["dim"] == 32
    for row in rows.values():
        assert 0.0 <= row["knn"]["top1"] <= 1.0 and 0.0 <= row["linear"]["top1"] <= 1.0
        assert 0.0 <= row["kmeans"]["accuracy"] <= 1.0 and 0.0 <= row["fewshot"]["5-shot"] <= 1.0
        assert row["diagnostics"]["rankme"] >= 1.0
    assert rows["pretrained"]["linear"]["pooling"] in ("mean", "mean-last2", "grid", "grid-last2")
    assert (run / "eval.json").is_file()


def test_api_names_load_lazily_and_evaluate_stays_the_function():
    """`import maskfuse` loads no torch; the API loads on first use, and `maskfuse.evaluate` is the
    function even when the package of that name was imported first."""
    import subprocess
    import sys

    code = (
        "import sys, maskfuse; assert 'torch' not in sys.modules;"
        "import maskfuse.evaluate.knn; import maskfuse;"
        "assert callable(maskfuse.evaluate) and callable(maskfuse.pretrain), maskfuse.evaluate;"
        "assert maskfuse.load.__module__ == 'maskfuse.pretrained'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
