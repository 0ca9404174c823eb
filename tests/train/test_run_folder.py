"""One writer per run folder, and a folder of the user's own files is never overwritten."""

import json
import subprocess
import sys
import time

import pytest

from maskfuse.cli import main
from maskfuse.errors import ConfigError

QUICK = ["train.steps=3", "train.batch_size=32", "train.progress=false", "train.monitor_every=0", "model.depth=1",
         "data.max_train=200", "data.max_test=50"]  # fmt: skip


def test_a_folder_of_other_files_is_refused_unless_forced(tmp_path, capsys):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "config.yaml").write_text("my: own settings\n")
    (mine / "notes.txt").write_text("keep me")
    assert main(["pretrain", "--out", str(mine), *QUICK]) == 2
    assert "holds files that are not a maskfuse run (notes.txt)" in capsys.readouterr().err
    assert (mine / "config.yaml").read_text() == "my: own settings\n"  # untouched
    assert main(["pretrain", "--out", str(mine), "--force", *QUICK]) == 0
    assert (mine / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    assert main(["pretrain", "--out", str(tmp_path / "file"), *QUICK]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_second_writer_is_refused_while_a_run_trains(tmp_path, capsys):
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "maskfuse", "pretrain", "--out", str(run), *QUICK[1:],
                              "train.steps=100000", "train.checkpoint_every=1000000"])  # fmt: skip
    try:
        deadline = time.time() + 120
        while not (run / "metrics.jsonl").exists() and first.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the first run ended before the second could start"
        saved = (run / "config.yaml").read_text()
        assert main(["pretrain", "--out", str(run), *QUICK, "train.lr=0.1"]) == 2
        assert f"maskfuse process {first.pid} is writing this run" in capsys.readouterr().err
        assert (run / "config.yaml").read_text() == saved  # the first run's config stays its own
    finally:
        first.kill()
        first.wait()
    notes = json.loads((run / "data_notes.json").read_text())  # written before the first step
    assert [n.split(":")[0] for n in notes] == ["image.patch_size=2"]
    assert main(["pretrain", "--out", str(run), *QUICK]) == 0  # the lock went with the killed process


def test_readers_load_a_whole_checkpoint_while_a_run_rotates_them(tmp_path):
    """A checkpoint every step, one kept: loads during training never fail on a checkpoint
    that rotated away while it was read (39 of 405 did before)."""
    import maskfuse

    run = tmp_path / "run"
    writer = subprocess.Popen([sys.executable, "-m", "maskfuse", "pretrain", "--out", str(run), *QUICK[1:],
                               "train.steps=150", "train.checkpoint_every=1"])  # fmt: skip
    loads = 0
    try:
        while writer.poll() is None:
            if (run / "checkpoints" / "latest").exists():
                assert maskfuse.load(run).step >= 1
                loads += 1
    finally:
        writer.kill()
        writer.wait()
    assert loads > 10


def test_a_torn_metrics_line_is_dropped_with_a_note(tmp_path, capsys):
    """A killed run can leave its last metrics line half written: resume and report skip it."""
    run = tmp_path / "run"
    assert main(["pretrain", "--out", str(run), *QUICK, "train.log_every=1", "train.checkpoint_every=2"]) == 0
    metrics = run / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + '{"step": 4, "loss": 0.1')  # cut off mid-line
    from maskfuse.report.build import read_metrics

    assert [r["step"] for r in read_metrics(run)] == [1, 2, 3]
    assert "line 4 was cut off" in capsys.readouterr().err
    metrics.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(ConfigError, match=r"metrics.jsonl, line 2: not a metrics record"):
        read_metrics(run)


def test_resume_goes_on_past_a_reached_stop_after_and_accepts_a_lower_lr(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["pretrain", "--out", str(run), *QUICK, "train.steps=4", "train.stop_after=2", "train.checkpoint_every=1"]
    assert main(args) == 0
    assert main(["pretrain", "--resume", str(run), "train.lr=0.0005"]) == 0
    said = " ".join(capsys.readouterr().err.split())
    assert "train.stop_after=2 was reached when the run stopped; it goes on towards train.steps=4" in said
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["step"] == 4


def test_a_finished_run_is_extended_with_more_steps_and_resumes_the_same_way(tmp_path, capsys):
    import torch
    import yaml
    from safetensors.torch import load_file

    from maskfuse.checkpoint import latest

    args = [*QUICK, "train.steps=6", "train.warmup_steps=2", "train.log_every=1", "train.checkpoint_every=2"]
    a, b = tmp_path / "a", tmp_path / "b"
    for run in (a, b):
        assert main(["pretrain", "--out", str(run), *args]) == 0
    assert main(["pretrain", "--resume", str(a), "train.steps=4"]) == 2  # fewer than planned
    assert "train.steps=4: the run is planned for 6 steps and at step 6; to extend it, give more steps" in " ".join(
        capsys.readouterr().err.split()
    )
    assert main(["pretrain", "--resume", str(a), "train.steps=10"]) == 0
    # b: the same extension, stopped half way and resumed without settings: the same weights
    assert main(["pretrain", "--resume", str(b), "train.steps=10", "train.stop_after=8"]) == 0
    assert main(["pretrain", "--resume", str(b)]) == 0
    wa, wb = (load_file(str(latest(r) / "model.safetensors")) for r in (a, b))
    assert latest(a).name == latest(b).name == "step-0000010"
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    saved = yaml.safe_load((a / "config.yaml").read_text())["train"]
    assert (saved["steps"], saved["restart_step"]) == (10, 6)
    lrs = {r["step"]: r["lr"] for r in map(json.loads, (a / "metrics.jsonl").read_text().splitlines())}
    assert sorted(lrs) == list(range(1, 11))
    assert lrs[7] > lrs[6] and lrs[8] == pytest.approx(max(lrs.values()))  # warm again, to the peak, then decay
    assert lrs[10] < lrs[9] == lrs[8]  # the cosine of the 2 steps after the new warm-up
