import json

import pytest
import torch
from safetensors.torch import load_file

import maskfuse
from maskfuse import checkpoint
from maskfuse.distributed import World
from maskfuse.errors import ConfigError, TrainingDiverged
from maskfuse.methods.mae import MAE
from maskfuse.train import loop, setup
from tests.conftest import rotten_tomatoes, small_config


def _losses(run):
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_mae_loss_falls_on_digits(tmp_path):
    cfg = small_config("mae", s="train.steps=60", l="train.log_every=1", lr="train.lr=2e-3")
    run = maskfuse.pretrain(cfg, tmp_path / "run")
    losses = _losses(run)
    assert len(losses) == 60
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.85 * first, (first, last)


def _weights(run):
    return load_file(str(checkpoint.latest(run) / "model.safetensors"))


@pytest.mark.parametrize("method", ["mae", "simmim", "simclr", "data2vec", "hpm", "ijepa"])
def test_resume_gives_identical_weights(tmp_path, method):
    straight = maskfuse.pretrain(small_config(method), tmp_path / "a")
    cfg = small_config(method, stop="train.stop_after=10")
    half = maskfuse.pretrain(cfg, tmp_path / "b")
    assert checkpoint.latest(half).name == "step-0000010"
    maskfuse.resume(half, ["train.stop_after=null"])
    a, b = _weights(straight), _weights(half)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = [json.loads(line)["step"] for line in (half / "metrics.jsonl").read_text().splitlines()]
    assert steps == [10, 20]  # no step logged twice


def test_interrupt_saves_and_resume_matches(tmp_path, monkeypatch):
    straight = maskfuse.pretrain(small_config("mae", c="train.checkpoint_every=100"), tmp_path / "a")
    real_step, calls = loop.train_step, {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return real_step(*args)

    monkeypatch.setattr(loop, "train_step", flaky)
    with pytest.raises(KeyboardInterrupt):
        maskfuse.pretrain(small_config("mae", c="train.checkpoint_every=100"), tmp_path / "b")
    assert checkpoint.latest(tmp_path / "b").name == "step-0000007"
    monkeypatch.setattr(loop, "train_step", real_step)
    maskfuse.resume(tmp_path / "b")
    a, b = _weights(straight), _weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    real, calls = MAE.forward, {"n": 0}

    def poisoned(self, batch):
        calls["n"] += 1
        out = real(self, batch)
        if calls["n"] == 5:
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(MAE, "forward", poisoned)
    cfg = small_config("mae", c="train.checkpoint_every=2")
    with pytest.raises(TrainingDiverged, match=r"loss is nan at step 5.*step-0000004.*--resume .*train.lr=0.0005"):
        maskfuse.pretrain(cfg, tmp_path / "run")
    kept = checkpoint.latest(tmp_path / "run")
    assert kept.name == "step-0000004"
    assert all(torch.isfinite(t).all() for t in load_file(str(kept / "model.safetensors")).values())


def test_refuses_to_overwrite_a_run(tmp_path):
    maskfuse.pretrain(small_config("mae", s="train.steps=2"), tmp_path / "run")
    with pytest.raises(ConfigError, match="already holds a run"):
        maskfuse.pretrain(small_config("mae", s="train.steps=2"), tmp_path / "run")


def test_resume_rejects_trajectory_changes(tmp_path):
    run = maskfuse.pretrain(small_config("mae", s="train.steps=2"), tmp_path / "run")
    with pytest.raises(ConfigError, match="cannot change on resume"):
        maskfuse.resume(run, ["mask.ratio=0.5"])


def test_monitors_are_logged_and_never_change_training(tmp_path):
    quiet = maskfuse.pretrain(small_config("simclr", m="train.monitor_every=0"), tmp_path / "a")
    watched = maskfuse.pretrain(small_config("simclr", m="train.monitor_every=5"), tmp_path / "b")
    a, b = _weights(quiet), _weights(watched)
    assert all(torch.equal(a[k], b[k]) for k in a)
    records = [json.loads(line) for line in (watched / "metrics.jsonl").read_text().splitlines()]
    monitored = [r for r in records if "monitor/rankme" in r]
    assert [r["step"] for r in monitored] == [5, 10, 15, 20]
    assert all(0 <= r["monitor/knn"] <= 1 and r["monitor/rankme"] >= 1 for r in monitored)
    assert not any("monitor/rankme" in json.loads(x) for x in (quiet / "metrics.jsonl").read_text().splitlines())


def test_collapse_is_flagged():
    from maskfuse.data import load_data
    from maskfuse.evaluate.monitor import OnlineMonitor

    cfg = small_config("mae")
    splits = load_data(cfg.data)
    backbone = maskfuse.methods.build.build_method(cfg, splits.spec).backbone
    monitor = OnlineMonitor(splits, rows=100)
    assert monitor(backbone)["monitor/collapse"] is False
    with torch.no_grad():
        backbone.encoder.trunk.norm.weight.zero_()  # every embedding becomes the same vector
    assert monitor(backbone)["monitor/collapse"] is True


def test_tensorboard_mirrors_metrics(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = maskfuse.pretrain(small_config("mae", t="train.tensorboard=true", m="train.monitor_every=10"), tmp_path / "r")
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert {"loss", "lr", "monitor/rankme"} <= set(events.Tags()["scalars"])
    logged = {r["step"]: r["loss"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())}
    for event in events.Scalars("loss"):
        assert event.value == pytest.approx(logged[event.step])


def test_a_resumed_run_reads_text_through_its_own_tokenizer(tmp_path):
    """On resume the data is read again through the checkpoint's tokenizer, not one trained
    again (WordPiece is not deterministic): here the run's is BPE and the config now asks
    for WordPiece, which must not win."""
    path = rotten_tomatoes(tmp_path, rows=200)
    text = {"d": "data.name=text", "p": f"data.path={path}", "l": "data.label_column=sentiment",
            "s": "train.stop_after=1", "c": "train.checkpoint_every=1"}  # fmt: skip
    run = maskfuse.pretrain(small_config("mae", v="data.vocab=bpe", **text), tmp_path / "run")
    saved = checkpoint.read_config(checkpoint.latest(run))[1]["meta"]["encoding"]
    device = torch.device("cpu")
    wordpiece = small_config("mae", v="data.vocab=wordpiece", **text)
    again = setup.training_splits(wordpiece, run, True, World(), device)
    assert again.spec.meta["encoding"] == saved
    fresh = setup.training_splits(wordpiece, tmp_path / "new", True, World(), device)
    assert fresh.spec.meta["encoding"] != saved  # no checkpoint yet: the config's WordPiece


def test_step_seeds_differ_across_ranks_in_the_bits_torch_keeps():
    """torch's CPU generator keeps only a seed's low 32 bits: 64 ranks x 2,000 steps give
    128,000 distinct streams there, and rank 0 keeps the single-process seed."""
    from maskfuse.train.loop import step_seed

    low = {step_seed(3, step, rank) % 2**32 for rank in range(64) for step in range(2000)}
    assert len(low) == 64 * 2000
    assert step_seed(3, 17, 0) == 3 * 1_000_003 + 17
