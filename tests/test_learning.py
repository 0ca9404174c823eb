"""Real learning on real data: a short pretraining must beat its own random init."""

import pytest

import maskfuse
from maskfuse.data import load_data
from maskfuse.encoder import embed_dataset
from maskfuse.evaluate.linear import linear_probe
from maskfuse.methods.build import build_method
from tests.conftest import require_fashion_mnist

COMMON = [
    "data.name=fashion-mnist", "data.max_train=5000", "data.max_test=2000", "train.steps=200",
    "train.progress=false", "image.patch_size=7",
]  # fmt: skip


@pytest.mark.parametrize(
    "recipe,extra",
    [("mae", ["image.norm_pix=false", "mask.ratio=0.5"]), ("simclr", [])],
)
def test_short_pretraining_beats_random_init_on_fashion_mnist(tmp_path, recipe, extra):
    require_fashion_mnist()
    cfg = maskfuse.resolve(recipe, COMMON + extra)
    splits = load_data(cfg.data)
    run = maskfuse.pretrain(cfg, tmp_path / "run")
    trained = maskfuse.load(run).backbone
    init = build_method(cfg, splits.spec).backbone

    def probe(backbone):
        tr, te = embed_dataset(backbone, splits.train), embed_dataset(backbone, splits.test)
        return linear_probe(tr, splits.train.labels, te, splits.test.labels).accuracy

    before, after = probe(init), probe(trained)
    # measured when written: MAE 70.1 % -> 75.8 %, SimCLR 70.1 % -> 78.5 %
    assert after > before + 0.03, (before, after)
