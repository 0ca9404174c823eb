"""model.init: a run starts from weights that already exist, and says which it took."""

import json

import pytest
import torch
from safetensors.torch import save_file

import maskfuse
from maskfuse.cli import main
from maskfuse.encoder import build_backbone
from maskfuse.errors import ConfigError
from maskfuse.export import export
from maskfuse.methods.build import build_method
from tests.conftest import small_config


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    return maskfuse.pretrain(small_config("mae"), tmp_path_factory.mktemp("init") / "source")


def same_weights(a: torch.nn.Module, b: torch.nn.Module, skip=("in_mean", "in_std")) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if not k.endswith(skip))


def test_every_source_kind_fills_the_encoder_and_its_ema_teacher(source_run, tmp_path):
    source = maskfuse.load(source_run)
    ckpt_file = tmp_path / "whole-method.safetensors"  # a checkpoint's file: weights under backbone.
    save_file({f"backbone.{k}": v.contiguous() for k, v in source.backbone.state_dict().items()}, str(ckpt_file))
    for where in (source_run, export(source_run, tmp_path / "exp"), ckpt_file):
        cfg = small_config("data2vec", i=f"model.init={where}")
        method = build_method(cfg, source.spec)
        assert same_weights(method.backbone, source.backbone)
        assert same_weights(method.teacher, source.backbone)  # the EMA teacher starts from it too
        statuses = {r["tensor"]: r["status"] for r in method.backbone.init_rows}
        assert statuses["tokenizer.in_mean"] == "kept" and statuses["encoder.trunk.norm.weight"] == "loaded"
        assert set(statuses.values()) == {"loaded", "kept"}


def test_a_partial_fit_is_an_error_naming_the_tensors_unless_allowed(source_run):
    spec = maskfuse.load(source_run).spec
    other_patch = small_config("mae", i=f"model.init={source_run}", p="image.patch_size=4")
    with pytest.raises(ConfigError, match=r"1 tensors would stay at init: tokenizer.proj.weight \(the source's is "):
        build_backbone(other_patch, spec)
    loose = small_config("mae", i=f"model.init={source_run}", p="image.patch_size=4", s="model.init_strict=false")
    rows = {r["tensor"]: r for r in build_backbone(loose, spec).init_rows}
    assert rows["tokenizer.proj.weight"]["status"] == "left at init"
    assert rows["tokenizer.proj.bias"]["status"] == "loaded"
    for bad, said in (("timm:vit_tiny", "not read yet"), ("/nowhere/x.bin", "expected a maskfuse run or export")):
        with pytest.raises(ConfigError, match=said):
            build_backbone(small_config("mae", i=f"model.init={bad}"), spec)


def test_a_run_from_an_init_says_so_keeps_the_table_and_compares_with_it(source_run, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["--recipe", "simclr", "--out", str(run), "train.steps=4", "train.batch_size=32", "train.progress=false",
            "model.dim=32", "model.depth=2", "model.heads=2", "contrastive.proj_hidden=32", "contrastive.proj_dim=16",
            f"model.init={source_run}"]  # fmt: skip
    assert main(["pretrain", *args]) == 0
    table = json.loads((run / "init.json").read_text())
    state = maskfuse.load(run).backbone.state_dict()
    assert table["source"] == str(source_run) and [r["tensor"] for r in table["tensors"]] == list(state)
    said = " ".join(capsys.readouterr().err.split())
    assert f"model.init={source_run}: {len(state) - 2} loaded, 2 kept" in said  # all but the data statistics
    assert "loaded encoder.trunk.norm.weight [32]" in said
    report = maskfuse.evaluate(run, ("knn",))
    assert set(report["results"]) == {"raw input", "initial weights", "pretrained"}
    source_knn = maskfuse.evaluate(source_run, ("knn",))["results"]["pretrained"]["knn"]["top1"]
    assert report["results"]["initial weights"]["knn"]["top1"] == pytest.approx(source_knn, abs=0.03)
