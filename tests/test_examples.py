"""The scripts in examples/ run, at tiny sizes, through the public API only."""

import importlib.util
import math
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_is_tested():
    tested = {
        name[len("test_") :]
        for name in globals()
        if name.startswith("test_") and name != "test_every_example_is_tested"
    }
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_pretrain_and_probe(capsys):
    report = example("pretrain_and_probe").main(tiny=True)
    assert set(report["results"]) == {"raw input", "random init", "pretrained"}
    printed = capsys.readouterr().out
    knn = report["results"]["pretrained"]["knn"]["top1"]
    assert f"pretrained   k-NN {100 * knn:5.1f} %" in printed


def test_embed_to_pandas():
    frame = example("embed_to_pandas").main(tiny=True)
    assert len(frame) == 1797 and frame["label"].nunique() == 10
    assert frame.drop(columns="label").notna().all().all()


def test_encoder_in_torch_model():
    accuracy = example("encoder_in_torch_model").main(tiny=True)
    assert math.isfinite(accuracy) and 0.0 <= accuracy <= 1.0


def test_paired_data():
    report = example("paired_data").main(tiny=True)
    assert set(report["crossmodal"]["pretrained"]["retrieval"]) == {"photo->caption", "caption->photo"}
