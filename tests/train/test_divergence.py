"""A loss climbing far above its early median warns once, in the console and in metrics."""

import json

import maskfuse
from maskfuse.methods.mae import MAE
from maskfuse.train.divergence import DivergenceWatch
from tests.conftest import small_config


def test_warns_once_above_a_hundred_times_the_early_median():
    watch = DivergenceWatch(factor=100.0, early=5)
    for step, loss in enumerate([4.0, 2.0, 3.0, 1.0, 5.0], 1):  # median 3
        assert watch.check(step, loss) is None
    assert watch.check(6, 299.0) is None  # 99.7x: not yet
    message = watch.check(7, 301.0)
    assert message.startswith("loss 301 at step 7 is 100x its early median 3:")
    assert watch.check(8, 1e6) is None  # once


def test_losses_that_start_at_or_below_zero_are_not_watched():
    watch = DivergenceWatch(early=3)
    for step, loss in enumerate([-0.5, -0.4, 0.0], 1):
        watch.check(step, loss)
    assert watch.check(4, 1e9) is None


def test_a_climbing_run_warns_on_stderr_and_in_metrics_jsonl(tmp_path, monkeypatch, capsys):
    real = MAE.forward
    calls = {"n": 0}

    def climbing(self, batch):
        calls["n"] += 1
        out = real(self, batch)
        if calls["n"] > 24:  # finite, but 1000x what it was
            out.loss = out.loss * 1000.0
        return out

    monkeypatch.setattr(MAE, "forward", climbing)
    cfg = small_config("mae", s="train.steps=30", l="train.log_every=100", c="train.checkpoint_every=100")
    run = maskfuse.pretrain(cfg, tmp_path / "run")
    err = " ".join(capsys.readouterr().err.split())
    assert err.count("warning: loss") == 1 and "at step 25 is" in err
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    warned = [r for r in records if "warning" in r]
    assert [r["step"] for r in warned] == [25]  # logged although step 25 is off the log period
    assert "may be diverging" in warned[0]["warning"]
