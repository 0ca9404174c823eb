"""maskfuse export: the encoder alone, read back by maskfuse and by onnxruntime."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import maskfuse
from maskfuse.cli import main
from maskfuse.errors import ConfigError
from maskfuse.export import export
from tests.conftest import small_config


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    run = maskfuse.pretrain(small_config("mae"), tmp_path_factory.mktemp("export") / "run")
    maskfuse.evaluate(run, ("knn", "linear"))
    return run


def test_safetensors_export_is_the_encoder_alone_and_loads_back_exactly(image_run, tmp_path):
    out = export(image_run, tmp_path / "exp")
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "preprocessing.json",
    ]
    model = maskfuse.load(image_run)
    weights = load_file(str(out / "model.safetensors"))
    assert set(weights) == set(model.backbone.state_dict())  # no decoder, heads or optimizer
    back = maskfuse.from_pretrained(out)
    x = np.random.default_rng(0).random((7, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(back.embed(x), model.embed(x))
    pre = json.loads((out / "preprocessing.json").read_text())
    assert pre["input_shape"] == [1, 8, 8] and pre["mean"] == list(model.spec.mean) and pre["patch_size"] == 2
    card = (out / "README.md").read_text()
    knn = json.loads((image_run / "eval.json").read_text())["results"]["pretrained"]["knn"]["top1"]
    assert f"{100 * knn:.1f} %" in card and 'maskfuse.from_pretrained("THIS_FOLDER")' in card


def test_onnx_export_runs_in_onnxruntime_on_any_batch(image_run, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    out = tmp_path / "onnx"
    assert main(["export", str(image_run), "--out", str(out), "--format", "onnx"]) == 0
    assert "exported (safetensors, onnx)" in capsys.readouterr().out
    session = ort.InferenceSession(str(out / "model.onnx"))
    model = maskfuse.load(image_run)
    for rows in (1, 5):  # the batch axis is dynamic
        x = np.random.default_rng(rows).random((rows, 1, 8, 8), dtype=np.float32)
        (got,) = session.run(None, {"raw": x})
        np.testing.assert_allclose(got, model.embed(x), atol=1e-4)


def test_export_refuses_without_writing(image_run, tmp_path, capsys):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "mine.txt").write_text("keep")
    with pytest.raises(ConfigError, match="not empty"):
        export(image_run, busy)
    assert sorted(p.name for p in busy.iterdir()) == ["mine.txt"]
    assert main(["export", str(image_run), "--out", str(tmp_path / "x"), "--format", "timm"]) == 2
    assert "--format timm: expected one of safetensors, onnx" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    with pytest.raises(ConfigError, match="neither a maskfuse export"):
        maskfuse.from_pretrained(busy)


def test_a_text_export_carries_its_tokenizer_and_runs_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from tokenizers import Tokenizer

    from tests.data.test_text_sources import rotten_tomatoes_lines

    rotten_tomatoes_lines(tmp_path, rows=200)
    small = ["train.steps=3", "train.batch_size=16", "train.progress=false", "model.dim=32", "model.depth=1",
             "model.heads=2", "decoder.dim=32", "decoder.depth=1", "data.vocab_size=500", "data.label_column=y",
             "data.name=text", f"data.path={tmp_path / 'rt.jsonl'}"]  # fmt: skip
    run = maskfuse.pretrain(maskfuse.resolve("text-mlm", small), tmp_path / "run")
    out = export(run, tmp_path / "exp", ("safetensors", "onnx"))
    model = maskfuse.load(run)
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert tok.to_str() == model.spec.meta["encoding"]
    ids = torch.randint(5, 500, (3, *model.spec.shape))
    (got,) = ort.InferenceSession(str(out / "model.onnx")).run(None, {"raw": ids.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got, model.backbone(ids).numpy(), atol=1e-4)


def test_an_exported_image_encoder_reads_other_sizes_with_stretched_positions(image_run, tmp_path):
    out = export(image_run, tmp_path / "exp")
    small = maskfuse.from_pretrained(out)
    large = maskfuse.from_pretrained(out, input_shape=(1, 16, 16))
    assert small.backbone.tokenizer.grid == (4, 4) and large.backbone.tokenizer.grid == (8, 8)
    trained, stretched = small.backbone.tokenizer.pos[0], large.backbone.tokenizer.pos[0]
    for a, b in ((0, 0), (3, 7), (12, 56), (15, 63)):  # the four corners keep their trained positions
        torch.testing.assert_close(stretched[b], trained[a])
    x = torch.rand(5, 1, 8, 8).numpy()
    big = torch.nn.functional.interpolate(torch.as_tensor(x), scale_factor=2, mode="nearest").numpy()
    assert large.embed(big).shape == small.embed(x).shape == (5, small.backbone.encoder.dim)
    np.testing.assert_array_equal(maskfuse.from_pretrained(out, input_shape=(1, 8, 8)).embed(x), small.embed(x))
    with pytest.raises(ConfigError, match=r"only image encoders take another size, with the same channels"):
        maskfuse.from_pretrained(out, input_shape=(3, 16, 16))
