import pytest

import maskfuse.methods.build  # noqa: F401  (registers the methods)
from maskfuse.config import Config, resolve
from maskfuse.errors import ConfigError
from maskfuse.overrides import parse_override
from maskfuse.recipes import recipe_names
from maskfuse.registry import METHODS


def test_defaults_round_trip_through_dict():
    cfg = Config()
    assert resolve(base=cfg.to_dict()) == cfg


def test_recipe_then_override_order():
    cfg = resolve("simmim", ["mask.ratio=0.4", "train.steps=7"])
    assert cfg.method == "simmim"
    assert cfg.reconstruction.loss == "l1"  # from the recipe
    assert cfg.mask.ratio == 0.4  # the override wins over the recipe's 0.6
    assert cfg.train.steps == 7


def test_every_recipe_resolves():
    names = recipe_names()
    assert {"mae", "simmim", "simclr", "colormae", "hpm", "moco"} <= set(names)
    for name in names:
        assert resolve(name).method in METHODS


def test_unknown_key_names_the_dotted_key():
    with pytest.raises(ConfigError, match="train.stepz"):
        resolve(overrides=["train.stepz=3"])
    with pytest.raises(ConfigError, match="'modell'"):
        resolve(overrides=["modell.size=tiny"])


def test_unknown_key_in_recipe_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("method: mae\nmask:\n  ratoi: 0.5\n")
    with pytest.raises(ConfigError, match="mask.ratoi"):
        resolve(path)


def test_wrong_types_name_the_key():
    with pytest.raises(ConfigError, match="train.steps: expected an integer"):
        resolve(overrides=["train.steps=ten"])
    with pytest.raises(ConfigError, match="train.progress: expected true or false"):
        resolve(overrides=["train.progress=3"])
    with pytest.raises(ConfigError, match=r"reconstruction.loss: expected one of \['mse', 'l1'\]"):
        resolve(overrides=["reconstruction.loss=huber"])
    with pytest.raises(ConfigError, match="augment.crop_scale"):
        resolve(overrides=["augment.crop_scale=[0.5]"])
    with pytest.raises(ConfigError, match="expected a mapping"):
        resolve(overrides=["train=5"])


def test_values_are_coerced_losslessly():
    assert resolve(overrides=["train.lr=2e-3"]).train.lr == 0.002
    cfg = resolve(overrides=["train.lr=1", "augment.crop_scale=[0.2, 1]", "data.max_train=null"])
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)
    assert cfg.augment.crop_scale == (0.2, 1.0)
    assert cfg.data.max_train is None


def test_parse_override_shapes():
    assert parse_override("a.b.c=1") == {"a": {"b": {"c": 1}}}
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_override("train.steps")


def test_unknown_recipe_lists_known():
    with pytest.raises(ConfigError, match="known: .*mae"):
        resolve("nope")


def test_loss_names_come_from_the_registry_and_fit_their_key():
    from maskfuse.methods.build import check_names

    check_names(resolve("simclr", ["contrastive.loss=dcl", "multimodal.loss=symile"]))
    with pytest.raises(ConfigError, match=r"unknown objective 'infonc' \(did you mean 'infonce'\?\)"):
        check_names(resolve("simclr", ["contrastive.loss=infonc"]))
    with pytest.raises(ConfigError, match=r"contrastive.loss=clip: not a contrastive objective; choose one of "
                                          r"dcl, hard-negatives, infonce, tau"):  # fmt: skip
        check_names(resolve("simclr", ["contrastive.loss=clip"]))
    with pytest.raises(ConfigError, match=r"multimodal.loss=dcl: not a multimodal objective; choose one of "
                                          r"all-pairs, clip, siglip, symile, tcl"):  # fmt: skip
        check_names(resolve("clip", ["multimodal.loss=dcl"]))
