"""train.budget: a wall-clock budget becomes a fixed step count, timed on the run's own steps."""

import json

import pytest
import yaml

from maskfuse import checkpoint
from maskfuse.errors import ConfigError
from maskfuse.train import budget
from maskfuse.train.budget import UNSIZED, BudgetSizing, parse_budget
from maskfuse.train.loop import fit
from tests.conftest import small_config


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("900", 900), (900, 900), ("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2.5h", 9000),
     (" 1m 30s ", 90)],
)  # fmt: skip
def test_parse_budget(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "15 minutes", "m", "-5m", "0", "0s", "1d"])
def test_bad_budgets_name_the_key(text):
    with pytest.raises(ConfigError, match="train.budget"):
        parse_budget(text)


class FakeClock:
    """A clock that moves `tick` seconds each time it is read."""

    def __init__(self, tick: float = 1.0) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_sizing_spreads_the_budget_over_the_measured_step_time(monkeypatch):
    clock = FakeClock(tick=0.5)
    monkeypatch.setattr(budget, "clock", clock)
    sizing = BudgetSizing(seconds=100.0, began=clock(), first=0, monitor_every=10)
    sized = [sizing.steps(done, monitor_seconds=2.0 if done == 30 else 0.0) for done in range(1, 31)]
    assert sized[:29] == [None] * 29
    # steps 10-30 took 0.5 s each; a 2 s monitor every 10 steps adds 0.2 s a step:
    # 15 s spent at step 30, so 85 s / 0.7 s = 121 more steps
    assert sized[29] == 30 + 121


def simulate(monkeypatch, budget_s: float, tick_of) -> tuple[dict[int, int], int, float]:
    """Run BudgetSizing as the loop does, one fake clock reading per step of `tick_of(step)`
    seconds: (the counts set, by step; the step the run ends at; the seconds it took)."""
    clock = FakeClock(tick=0.0)  # moved by hand: each step takes its tick
    monkeypatch.setattr(budget, "clock", clock)
    sizing = BudgetSizing(seconds=budget_s, began=0.0, first=0, monitor_every=0)
    counts, total, done = {}, 10**9, 0
    while done < total:
        done += 1
        clock.now += tick_of(done)
        if not sizing.finished and (new := sizing.steps(done)) is not None:
            counts[done], total = new, new
    return counts, total, clock.now


def test_later_sizings_follow_the_steady_speed(monkeypatch):
    """The first steps are slow (1 s), the rest fast (0.5 s): the count set at step 30 is
    raised at the next sizing, and the run ends at the budget."""
    counts, end, spent = simulate(monkeypatch, 300.0, lambda step: 1.0 if step <= 30 else 0.5)
    assert list(counts.items())[0] == (30, 30 + 270)
    assert max(counts.values()) > counts[30] and abs(end - (30 + 2 * 270)) <= 3
    assert abs(spent - 300.0) <= 3.0
    steps = list(counts)
    assert all(b - a >= 30 for a, b in zip(steps, steps[1:])) and steps[-1] <= 0.9 * end


def test_a_machine_that_slows_down_still_ends_near_the_budget(monkeypatch):
    """0.5 s a step, then 2 s from step 300 on (other work took the cores): the sizings
    every tenth of the run shrink the count, and the run ends within a few steps' time of
    the budget, where one count at step 30 would have overrun it threefold."""
    counts, end, spent = simulate(monkeypatch, 600.0, lambda step: 0.5 if step < 300 else 2.0)
    assert counts[30] > 1000 and end < 0.5 * counts[30]
    assert 600.0 - 10 <= spent <= 600.0 * 1.1


def test_a_spent_budget_stops_before_sizing(monkeypatch):
    clock = FakeClock(tick=4.0)  # 4, 8 and 12 s spent after steps 1, 2 and 3
    monkeypatch.setattr(budget, "clock", clock)
    sizing = BudgetSizing(seconds=10.0, began=clock(), first=0, monitor_every=0)
    assert [sizing.steps(done) for done in (1, 2, 3)] == [None, None, 3]


def quick(budget_text, **train):
    cfg = small_config("mae")
    cfg.train.budget, cfg.train.monitor_every, cfg.train.log_every = budget_text, 0, 1
    for key, value in train.items():
        setattr(cfg.train, key, value)
    return cfg


def test_the_loop_fixes_its_steps_from_the_budget(tmp_path, monkeypatch):
    """One fake second per clock reading, i.e. per step: a 100 s budget is spent after
    about 100 steps, and the count is written into the run so a resume keeps it."""
    monkeypatch.setattr(budget, "clock", FakeClock())
    fit(quick("100s", checkpoint_every=1000), tmp_path / "run")
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    steps = saved["train"]["steps"]
    assert 90 <= steps <= 100 and saved["train"]["budget"] == "100s"
    assert checkpoint.latest(tmp_path / "run").name == f"step-{steps:07d}"
    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["budget_steps"] for r in records if "budget_steps" in r] == [steps] * 3  # a steady clock
    assert records[-1]["step"] == steps
    assert checkpoint.read_config(checkpoint.latest(tmp_path / "run"))[0]["train"]["steps"] == steps


def test_a_run_stopped_before_sizing_sizes_when_it_resumes(tmp_path, monkeypatch):
    """Stopped at step 20, before its steps were sized: the resumed session times its
    own steps and sizes the rest of the run then."""
    import maskfuse

    monkeypatch.setattr(budget, "clock", FakeClock())
    fit(quick("200s", stop_after=20), tmp_path / "run")
    ckpt = checkpoint.latest(tmp_path / "run")
    assert ckpt.name == "step-0000020" and checkpoint.read_config(ckpt)[0]["train"]["steps"] == UNSIZED
    maskfuse.resume(tmp_path / "run", ["train.stop_after=null"])
    steps = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]["steps"]
    # the resumed session gets the whole budget again: about 200 more steps
    assert 20 + 180 <= steps <= 20 + 200 and checkpoint.latest(tmp_path / "run").name == f"step-{steps:07d}"


def test_a_bad_budget_fails_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="train.budget='soon'"):
        fit(quick("soon"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_passing_slowdown_dips_the_count_and_the_run_still_fills_its_budget(monkeypatch):
    """0.13 s a step, 0.6 s for steps 700-1000 (a test suite beside the run), 0.13 s again:
    the count dips and recovers, and the run ends within 5 % of its budget."""
    counts, end, spent = simulate(monkeypatch, 900.0, lambda step: 0.6 if 700 <= step < 1000 else 0.13)
    assert min(counts.values()) > 0.5 * counts[30]  # the mean since step 30 damps the dip
    assert 0.95 * 900 <= spent <= 900 * 1.02 and end > 0.75 * counts[30]
