"""`maskfuse sweep`: the grid, its folder names, a failing run among good ones, and a rerun."""

import json

import pytest

from maskfuse.cli import main
from maskfuse.errors import ConfigError
from maskfuse.sweep import grid, split_values

TINY = [
    "train.steps=8", "train.batch_size=32", "train.warmup_steps=2", "model.dim=16", "model.depth=1",
    "model.heads=2", "decoder.dim=16", "decoder.depth=1", "data.max_train=200", "data.max_test=100",
    "eval.protocols=[knn,linear]", "train.monitor_every=0",
]  # fmt: skip


def test_values_split_on_top_level_commas_only():
    assert split_values("0.5,0.9") == ["0.5", "0.9"]
    assert split_values("[0.08,1.0],[0.35,1.0]") == ["[0.08,1.0]", "[0.35,1.0]"]
    assert split_values("'a,b',c") == ["'a,b'", "c"]


def test_the_grid_is_every_combination_with_readable_names():
    fixed, trials = grid(["mask.ratio=0.5,0.9", "train.steps=5", "augment.crop_scale=[0.08,1.0],[0.35,1.0]"])
    assert fixed == ["train.steps=5"]
    assert [t.name for t in trials] == [
        "ratio=0.5_crop_scale=0.08-1.0", "ratio=0.5_crop_scale=0.35-1.0",
        "ratio=0.9_crop_scale=0.08-1.0", "ratio=0.9_crop_scale=0.35-1.0",
    ]  # fmt: skip
    assert trials[1].overrides == ["mask.ratio=0.5", "augment.crop_scale=[0.35,1.0]"]
    with pytest.raises(ConfigError, match="nothing to sweep"):
        grid(["train.steps=5"])


def test_a_typo_fails_before_any_run(tmp_path, capsys):
    assert main(["sweep", "--out", str(tmp_path / "s"), "mask.ratio=0.5,0.9", "train.stepz=3"]) == 2
    assert "sweep run ratio=0.5: unknown config key 'train.stepz' (did you mean 'train.steps'?)" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "s").exists()


def test_sweep_runs_the_grid_keeps_going_past_a_failure_and_reruns_only_what_is_left(tmp_path, capsys):
    out = tmp_path / "s"
    # lr 1e9 diverges: that run fails (exit 4, TrainingDiverged) and the others still finish
    args = ["sweep", "--out", str(out), "--jobs", "2", *TINY, "train.lr=1e-3,3e-3,1e9"]
    assert main(args) == 1
    text = capsys.readouterr()
    assert "1 of 3 runs failed: lr=1e9" in text.err
    summary = json.loads((out / "sweep.json").read_text())
    status = {r["name"]: r["status"] for r in summary["runs"]}
    assert status["lr=1e-3"] == status["lr=3e-3"] == "done"
    assert status["lr=1e9"].startswith("failed (exit 4")
    assert "loss is nan" in (out / "logs" / "lr=1e9.log").read_text()
    for name in ("lr=1e-3", "lr=3e-3"):
        report = json.loads((out / name / "eval.json").read_text())
        assert report["step"] == 8
        run = next(r for r in summary["runs"] if r["name"] == name)
        assert run["headline"]["knn"] == report["results"]["pretrained"]["knn"]["top1"]
    page = (out / "compare.html").read_text()
    assert "<td>train.lr</td><td>0.001</td><td>0.003</td>" in page
    # the same sweep again: finished runs are skipped, the failed one is tried again
    assert main(args) == 1
    again = {r["name"]: r["status"] for r in json.loads((out / "sweep.json").read_text())["runs"]}
    assert again["lr=1e-3"] == again["lr=3e-3"] == "skipped (done before)"
    assert again["lr=1e9"].startswith("failed")
