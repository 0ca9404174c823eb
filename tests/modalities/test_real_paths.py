"""Each modality's real path on real data, at small sizes: CLI pretrain -> evaluate -> report."""

import json
import math

import pytest

from maskfuse.cli import main
from tests.conftest import fsdd_root, rotten_tomatoes, ucr_file
from tests.data.test_table_sources import wine_csv

QUICK = ["train.progress=false", "train.monitor_every=0", "train.batch_size=32", "model.depth=2",
         "eval.protocols=[knn,linear]"]  # fmt: skip


def losses(run):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


@pytest.mark.parametrize("recipe", ["series-mae", "series-simclr", "series-frames"])
def test_gunpoint_series_from_the_command_line(tmp_path, recipe):
    run = tmp_path / "run"
    argv = [
        "pretrain",
        "--recipe",
        recipe,
        "--data",
        str(ucr_file("GunPoint")),
        "data.name=ucr",
        "train.steps=120",
        "--out",
        str(run),
        *QUICK,
    ]
    assert main(argv) == 0
    curve = losses(run)
    last = sum(curve[-3:]) / 3
    if recipe.endswith("mae"):
        assert last < 0.8 * sum(curve[:3]) / 3, curve  # reconstruction error falls
    else:  # InfoNCE with 2 x 32 views: uniform guessing scores ln(63) = 4.14 (frames: three pairs)
        assert last < 0.92 * math.log(63) * (3 if recipe.endswith("frames") else 1), curve
    assert main(["evaluate", str(run)]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert (report["train_rows"], report["test_rows"]) == (50, 150)  # the archive's own split
    # Two balanced classes: a working encoder is far above chance (measured ~0.9-0.95).
    assert report["results"]["pretrained"]["linear"]["top1"] > 0.8
    assert main(["report", str(run)]) == 0
    assert (run / "report" / "pictures.png").stat().st_size > 10_000


def test_spoken_digits_audio_mae_from_the_command_line(tmp_path):
    run = tmp_path / "run"
    argv = [
        "pretrain",
        "--recipe",
        "audio-mae",
        "--data",
        str(fsdd_root()),
        "data.name=fsdd",
        "data.max_train=600",
        "train.steps=60",
        "--out",
        str(run),
        *QUICK,
    ]
    assert main(argv) == 0
    curve = losses(run)
    assert sum(curve[-3:]) / 3 < 0.9 * sum(curve[:3]) / 3, curve
    assert main(["evaluate", str(run)]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert report["test_rows"] == 300  # takes 0-4 of every digit and speaker
    assert report["results"]["pretrained"]["linear"]["top1"] > 0.5  # ten classes: chance is 0.1
    assert main(["report", str(run)]) == 0


def test_wine_table_with_missing_cells_from_the_command_line(tmp_path, capsys):
    wine_csv(tmp_path / "wine.csv")
    run = tmp_path / "run"
    argv = [
        "pretrain",
        "--recipe",
        "table-mae",
        "--data",
        str(tmp_path / "wine.csv"),
        "data.name=table",
        "data.label_column=cultivar",
        "train.steps=300",
        "--out",
        str(run),
        *QUICK,
    ]
    assert main(argv) == 0
    curve = losses(run)
    assert sum(curve[-5:]) / 5 < 0.85 * sum(curve[:5]) / 5, curve  # masked cells are predicted better
    assert main(["evaluate", str(run)]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert report["results"]["pretrained"]["linear"]["top1"] > 0.75  # three cultivars: chance is 0.4
    assert main(["embed", str(run), "--out", str(tmp_path / "e.npy")]) == 0
    wine_csv(tmp_path / "other.csv", missing_every=5)  # same columns and categories: embeds
    assert main(["embed", str(run), "--data", str(tmp_path / "other.csv"), "--out", str(tmp_path / "o.npy")]) == 0
    rows = "".join(f"class_{i % 2},light,{12 + i}\n" for i in range(6))
    (tmp_path / "small.csv").write_text("cultivar,strength,alcohol\n" + rows)  # other columns
    capsys.readouterr()
    assert main(["embed", str(run), "--data", str(tmp_path / "small.csv"), "--out", str(tmp_path / "s.npy")]) != 0
    assert "columns or categories differ" in capsys.readouterr().err
    assert main(["report", str(run)]) == 0


def test_rotten_tomatoes_masked_language_modeling_from_the_command_line(tmp_path):
    path = rotten_tomatoes(tmp_path, rows=1200)
    run = tmp_path / "run"
    argv = [
        "pretrain",
        "--recipe",
        "text-mlm",
        "--data",
        str(path),
        "data.name=text",
        "data.label_column=sentiment",
        "data.vocab_size=1000",
        "train.steps=60",
        "--out",
        str(run),
        *QUICK,
    ]
    assert main(argv) == 0
    curve = losses(run)
    assert curve[0] > 6.5 and curve[-1] < curve[0] - 0.5, curve  # from ~ln(1000) nats towards word statistics
    assert main(["evaluate", str(run)]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert report["results"]["raw input"]["linear"]["top1"] > 0.6  # bag of words reads the sentiment labels
    assert 0.3 < report["results"]["pretrained"]["linear"]["top1"] <= 1.0
