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
