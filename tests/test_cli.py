import json

import numpy as np
import pytest
import yaml

from maskfuse.cli import main

SMALL = [
    "train.steps=6",
    "train.batch_size=32",
    "train.progress=false",
    "model.dim=32",
    "model.depth=2",
    "model.heads=2",
    "decoder.dim=32",
    "decoder.depth=1",
    "data.max_train=300",
    "data.max_test=100",
]


def test_recipes_lists_each_with_a_line(capsys):
    assert main(["recipes"]) == 0
    text = capsys.readouterr().out
    for name in ("mae", "simmim", "simclr"):
        assert name in text
    assert "He et al." in text


def test_pretrain_evaluate_embed_end_to_end(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["pretrain", "--recipe", "mae", "--data", "digits", "--out", str(run), *SMALL]) == 0
    assert (run / "config.yaml").is_file() and (run / "metrics.jsonl").is_file()
    assert main(["evaluate", str(run)]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert set(report["results"]) == {"raw input", "random init", "pretrained"}
    assert report["test_rows"] == 100 and report["step"] == 6
    assert report["protocols"] == ["knn", "linear", "kmeans", "fewshot", "diagnostics"]
    printed = capsys.readouterr().out
    knn = report["results"]["pretrained"]["knn"]["top1"]
    assert f"{100 * knn:.1f} %" in printed  # the table shows what eval.json holds
    assert main(["embed", str(run), "--out", str(tmp_path / "e.npy"), "--split", "test"]) == 0
    emb = np.load(tmp_path / "e.npy")
    assert emb.shape == (100, 32) and np.isfinite(emb).all()
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    assert main(["embed", str(run), "--out", str(tmp_path / "e.parquet")]) == 0
    table = pq.read_table(tmp_path / "e.parquet").to_pydict()
    assert len(table["embedding"]) == 400 and table["split"][0] == "train" and table["label"][0] is not None


def test_overrides_before_and_after_options(tmp_path):
    run = tmp_path / "run"
    assert main(["pretrain", *SMALL[:3], "--out", str(run), *SMALL[3:], "train.steps=3"]) == 0
    assert "steps: 3" in (run / "config.yaml").read_text()


def test_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["pretrain", "--recipe", "mae", "train.stepz=3"]) == 2
    assert "unknown config key 'train.stepz'" in capsys.readouterr().err
    assert main(["pretrain", "--data", str(tmp_path / "missing"), *SMALL]) == 3  # a data error
    assert "no such dataset or path" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "run directory does not exist" in capsys.readouterr().err


def test_evaluate_protocol_choice_and_compare(tmp_path, capsys, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["pretrain", "--out", str(a), *SMALL]) == 0
    assert main(["pretrain", "--out", str(b), *SMALL, "train.seed=1"]) == 0
    from maskfuse import progress

    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.0)  # a line at every step, off a terminal
    monkeypatch.setattr(progress, "SAY_AFTER_S", 0.0)
    capsys.readouterr()
    assert main(["evaluate", str(a), "--protocols", "knn,finetune", "--compare", str(b)]) == 0
    said = capsys.readouterr()
    assert "evaluating: 1/9 (raw input features)" in said.err and "evaluating: done in" in said.err
    assert "8/9 (knn on pretrained)" in said.err  # the last step is the "done" line
    report = json.loads((a / "eval.json").read_text())
    assert report["results"]["raw input"]["finetune"] == {"skipped": "needs an encoder"}
    assert 0.0 <= report["results"]["pretrained"]["finetune"]["top1"] <= 1.0
    assert 0.0 < report["comparison"]["linear_cka"] < 1.0
    assert "linear CKA" in said.out
    assert main(["evaluate", str(a), "--protocols", "knn,nope"]) == 2
    assert "unknown evaluation protocol 'nope'" in capsys.readouterr().err


def test_embed_rejects_data_of_another_shape(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["pretrain", "--out", str(run), *SMALL]) == 0
    np.savez(tmp_path / "rgb.npz", images=np.zeros((10, 3, 8, 8), np.uint8))
    assert main(["embed", str(run), "--data", str(tmp_path / "rgb.npz"), "--out", str(tmp_path / "x.npy")]) == 3
    assert "this model expects [1, 8, 8]" in capsys.readouterr().err


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    """SIGKILL mid-run, then --resume: the result equals an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import torch
    from safetensors.torch import load_file

    from maskfuse import checkpoint

    args = [*SMALL, "train.steps=600", "train.checkpoint_every=5"]
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "maskfuse", "pretrain", "--out", str(run), *args])
    deadline = time.time() + 120
    while checkpoint.latest(run) is None and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = checkpoint.latest(run)
    assert killed_at is not None and killed_at.name != "step-0000600", "the run ended before it could be killed"
    assert main(["pretrain", "--resume", str(run)]) == 0
    assert main(["pretrain", "--out", str(tmp_path / "straight"), *args]) == 0
    a = load_file(str(checkpoint.latest(run) / "model.safetensors"))
    b = load_file(str(checkpoint.latest(tmp_path / "straight") / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_report_command(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["pretrain", "--recipe", "simclr", "--out", str(run), *SMALL]) == 0
    assert main(["report", str(run)]) == 0  # evaluates first: the run has no eval.json yet
    assert (run / "eval.json").is_file() and (run / "report" / "report.html").is_file()
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(run), "--map", "tsne"]) == 0


@pytest.mark.parametrize(
    ("recipe", "data", "given"),
    [("text-mlm", [], "image data"), ("series-mae", ["--data", "digits"], "image data"),
     ("table-mae", ["--data", "digits"], "image data"), ("audio-mae", ["--data", "wine"], "table data"),
     ("clip", ["--data", "digits"], "image data")],
)  # fmt: skip
def test_recipes_refuse_data_of_another_modality(tmp_path, capsys, recipe, data, given):
    """Without --data a text recipe no longer trains on the default digits; with data of
    another modality it stops before any run folder is made."""
    run = tmp_path / "run"
    assert main(["pretrain", "--recipe", recipe, *data, "--out", str(run), *SMALL]) == 2
    message = capsys.readouterr().err
    assert "this recipe is for" in message and given in message and "pass --data with" in message
    assert not run.exists()


def test_embed_writes_each_rows_file_and_class(tmp_path):
    """--split all on a new folder: every file once, with its path and class name beside its
    integer label, whichever split the loader put it in."""
    from PIL import Image

    pq = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path / "new"
    for c, name in enumerate(("left", "right")):
        (folder / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((8, 8), 40 * c + 5 * i, np.uint8)).save(folder / name / f"{i}.png")
    run = tmp_path / "run"
    assert main(["pretrain", "--data", "digits", "--out", str(run), *SMALL]) == 0
    out = tmp_path / "new.parquet"
    assert main(["embed", str(run), "--data", str(folder), "--split", "all", "--out", str(out)]) == 0
    table = pq.read_table(out).to_pydict()
    expected = sorted(str(p) for p in folder.rglob("*.png"))
    assert sorted(table["origin"]) == expected
    for origin, label, name in zip(table["origin"], table["label"], table["class"]):
        assert name == ("left", "right")[label] and f"/{name}/" in origin


def test_exit_codes_tell_a_usage_error_from_bad_data_and_a_diverged_run(tmp_path, monkeypatch, capsys):
    """2: the command or config is wrong; 3: the data is; 4: the loss diverged (README, Exit codes)."""
    from maskfuse.methods.mae import MAE

    assert main(["pretrain", "--recipe", "mae", "train.batch_size=0"]) == 2
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not an npz archive")
    assert main(["pretrain", "--data", str(bad), "--out", str(tmp_path / "a"), *SMALL]) == 3
    real = MAE.forward

    def poisoned(self, batch):
        out = real(self, batch)
        out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(MAE, "forward", poisoned)
    assert main(["pretrain", "--out", str(tmp_path / "b"), *SMALL]) == 4
    said = " ".join(capsys.readouterr().err.split())
    assert "loss is nan at step 1" in said
    # no checkpoint yet: the advice is to start again, not a --resume that would fail
    assert "no checkpoint had been written yet. Start it again with a lower rate (train.lr=0.0005)" in said
    assert "--resume" not in said


def test_files_the_system_refuses_are_one_line_naming_them(tmp_path, monkeypatch, capsys):
    import errno

    from maskfuse import checkpoint

    (tmp_path / "afile").write_text("x")
    assert main(["pretrain", "--out", str(tmp_path / "afile" / "run"), *SMALL]) == 2
    assert "cannot make the run folder (Not a directory)" in capsys.readouterr().err
    run = tmp_path / "run"
    assert main(["pretrain", "--out", str(run), *SMALL]) == 0
    (run / "eval.json").mkdir()  # eval.json cannot be replaced, as on a read-only run
    assert main(["evaluate", str(run), "--protocols", "knn"]) == 1
    printed = capsys.readouterr()
    assert "pretrained" in printed.out  # the numbers are still shown
    assert "could not write" in printed.err and "eval.json" in printed.err and "not saved" in printed.err

    def full(weights, filename, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(checkpoint, "save_file", full)
    assert main(["pretrain", "--out", str(tmp_path / "full"), *SMALL]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "model.safetensors: No space left on device" in err and "Traceback" not in err
    assert checkpoint.latest(tmp_path / "full") is None  # no half-written checkpoint passes for one


def test_typos_get_the_closest_name(capsys):
    assert main(["pretrain", "--recipe", "mae", "train.step=5"]) == 2
    assert "unknown config key 'train.step' (did you mean 'train.steps'?)" in capsys.readouterr().err
    assert main(["pretrain", "--recipe", "simclt"]) == 2
    assert "unknown recipe 'simclt' (did you mean 'simclr'?)" in capsys.readouterr().err
    assert main(["pretrain", "trian.steps=5"]) == 2
    assert "(did you mean 'train'?)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["pretrian"])
    assert stop.value.code == 2
    assert "unknown command 'pretrian' (did you mean 'pretrain'?)" in capsys.readouterr().err


def test_version(capsys):
    import maskfuse

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"maskfuse {maskfuse.__version__}"


def test_config_show_gives_value_type_and_meaning(capsys):
    assert main(["config", "show", "train.steps"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "train.steps = 600  int"
    assert lines[1].strip() == "optimizer steps of the whole schedule"
    assert main(["config", "show", "mask", "--recipe", "simclr"]) == 0
    text = capsys.readouterr().out
    assert all(line.startswith(("mask.", "    ")) for line in text.splitlines())
    assert main(["config", "show", "train.lr", "--recipe", "simclr"]) == 0
    assert "train.lr = 0.001  float  (recipe; default 0.0015)" in capsys.readouterr().out
    assert main(["config", "show", "train.lrr"]) == 2
    assert "did you mean 'train.lr'?" in capsys.readouterr().err


def test_help_loads_no_torch():
    """`--help`, `recipes` and `config show` answer without importing torch (benchmarks/cli_startup.py
    times them); a command that trains imports it itself."""
    import subprocess
    import sys

    code = (
        "import sys; from maskfuse.cli import main, parser; parser().format_help();"
        "main(['recipes']); main(['config', 'show', 'train']);"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('maskfuse'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_log_names_the_trackers(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["pretrain", "--log", "jsonl,csv", "--out", str(run), *SMALL]) == 0
    assert (run / "metrics.csv").read_text().startswith("step,key,value")
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["trackers"] == ["csv"]
    assert main(["pretrain", "--log", "wandbb", "--out", str(tmp_path / "b"), *SMALL]) == 2
    assert "unknown tracker 'wandbb' (did you mean 'wandb'?)" in capsys.readouterr().err
