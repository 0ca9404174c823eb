"""Every number in the config has a stated range, and a value outside it is refused by name."""

import typing

import pytest

from maskfuse.cli import main
from maskfuse.config import Config, resolve
from maskfuse.config_ranges import RANGES, numeric_fields
from maskfuse.errors import ConfigError


def test_every_numeric_field_states_its_range():
    assert set(numeric_fields(Config)) == set(RANGES), "give the new field a range in config_ranges.RANGES"


def test_the_defaults_and_every_recipe_are_in_range():
    from maskfuse.recipes import recipe_names

    Config()  # defaults
    for name in recipe_names():
        resolve(name)


def _field(key: str) -> tuple[object, bool]:
    """(the key's default, whether it holds integers)."""
    cls, default = Config, Config()
    for part in key.split("."):
        hint = typing.get_type_hints(cls)[part]
        default = getattr(default, part)
        cls = hint
    text = str(hint)
    return default, "int" in text and "float" not in text


def _outside(key: str) -> object:
    """A value just outside the key's range, of the field's own type."""
    allowed = RANGES[key]
    default, whole = _field(key)
    value = (allowed.lo - 1 if whole else allowed.lo - 0.5) if allowed.lo is not None else allowed.hi + 1
    if allowed.lo is not None and allowed.lo_open:
        value = allowed.lo
    return [value, value] if isinstance(default, (list, tuple)) else value


@pytest.mark.parametrize("key", sorted(RANGES))
def test_a_value_outside_the_range_is_refused_by_name(key):
    value = _outside(key)
    text = f"{key}=[{value[0]},{value[1]}]" if isinstance(value, list) else f"{key}={value}"
    with pytest.raises(ConfigError, match=rf"^{key}=.*expected a value"):
        resolve(overrides=[text])


@pytest.mark.parametrize(
    "setting",
    ["train.batch_size=0", "train.batch_size=-4", "train.checkpoint_every=0", "train.log_every=0", "mask.ratio=1.5",
     "train.lr=-1", "train.threads=-1", "train.steps=0", "data.max_train=-1"],
)  # fmt: skip
def test_the_probed_values_stop_before_any_folder(tmp_path, capsys, setting):
    """The values issue 18's probes found: each a traceback, a silent no-op or a dropped row."""
    run = tmp_path / "run"
    assert main(["pretrain", "--out", str(run), setting]) == 2
    assert f"{setting.split('=')[0]}=" in capsys.readouterr().err
    assert not run.exists()
