import pytest

from maskfuse.config import TrainConfig
from maskfuse.train.schedule import lr_factor


def test_cosine_warmup_peak_and_floor():
    cfg = TrainConfig(steps=110, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_factor(0, cfg) == pytest.approx(0.1)
    assert lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(10, cfg) == pytest.approx(1.0)
    assert lr_factor(60, cfg) == pytest.approx(0.1 + 0.9 * 0.5)  # half way through the cosine
    assert lr_factor(110, cfg) == pytest.approx(0.1)
    values = [lr_factor(s, cfg) for s in range(10, 110)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_wsd_is_flat_then_linear():
    cfg = TrainConfig(steps=100, warmup_steps=0, schedule="wsd", decay_fraction=0.2, min_lr_ratio=0.0)
    assert lr_factor(0, cfg) == 1.0 and lr_factor(79, cfg) == 1.0
    assert lr_factor(80, cfg) == pytest.approx(1.0)
    assert lr_factor(90, cfg) == pytest.approx(0.5)
    assert lr_factor(100, cfg) == pytest.approx(0.0)


def test_an_extended_schedule_warms_again_from_where_it_was_and_decays_to_the_new_end():
    old = TrainConfig(steps=100, warmup_steps=10, min_lr_ratio=0.1)
    at = 100  # a finished run, resumed with train.steps=160
    new = TrainConfig(steps=160, warmup_steps=10, min_lr_ratio=0.1, restart_step=at, restart_from=lr_factor(at, old))
    assert new.restart_from == pytest.approx(0.1)
    assert lr_factor(100, new) == pytest.approx(0.1 + 0.9 * 1 / 10)  # warming up from the floor
    assert lr_factor(109, new) == pytest.approx(1.0)  # the peak after warmup_steps
    assert lr_factor(135, new) == pytest.approx(0.1 + 0.9 * 0.5)  # half way through the new cosine
    assert lr_factor(160, new) == pytest.approx(0.1)
    rest = [lr_factor(s, new) for s in range(110, 160)]
    assert all(a >= b for a, b in zip(rest, rest[1:]))
    wsd = TrainConfig(steps=50, warmup_steps=0, schedule="wsd", decay_fraction=0.2, restart_step=40, restart_from=0.3)
    assert lr_factor(40, wsd) == 1.0 and lr_factor(47, wsd) == 1.0 and lr_factor(49, wsd) == pytest.approx(0.505)
