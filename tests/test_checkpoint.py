import json

import pytest
import torch
from torch import nn

from maskfuse import checkpoint
from maskfuse.errors import DataError


def _model_and_opt():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4))
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(2, 3)).sum().backward()
    opt.step()
    return model, opt


def test_save_and_restore_exactly(tmp_path):
    model, opt = _model_and_opt()
    path = checkpoint.save(tmp_path, 7, model, opt, {"a": 1}, {"s": 2})
    assert path.name == "step-0000007" and checkpoint.latest(tmp_path) == path
    assert not list((tmp_path / "checkpoints").glob(".*tmp"))  # no temp folder left behind
    model2, opt2 = _model_and_opt()
    step = checkpoint.load_training_state(path, model2, opt2)
    assert step == 7
    for a, b in zip(model.state_dict().values(), model2.state_dict().values()):
        assert torch.equal(a, b)
    sa, sb = opt.state_dict()["state"], opt2.state_dict()["state"]
    for pid in sa:
        for key in sa[pid]:
            assert torch.equal(torch.as_tensor(sa[pid][key]), torch.as_tensor(sb[pid][key]))
    assert checkpoint.read_config(path) == ({"a": 1}, {"s": 2})


def test_older_checkpoints_are_pruned_and_latest_moves(tmp_path):
    model, opt = _model_and_opt()
    for step in (1, 2, 3):
        checkpoint.save(tmp_path, step, model, opt, {}, {}, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*"))
    assert names == ["step-0000002", "step-0000003"]
    assert (tmp_path / "checkpoints" / "latest").read_text() == "step-0000003"


def test_half_written_checkpoint_is_ignored(tmp_path):
    model, opt = _model_and_opt()
    good = checkpoint.save(tmp_path, 5, model, opt, {}, {})
    # a run killed mid-save leaves only a temp folder; latest still points at the good one
    (tmp_path / "checkpoints" / ".step-0000010.tmp").mkdir()
    assert checkpoint.latest(tmp_path) == good


def test_weights_that_do_not_fit_are_named(tmp_path):
    model, opt = _model_and_opt()
    path = checkpoint.save(tmp_path, 1, model, opt, {}, {})
    with pytest.raises(DataError, match="do not fit"):
        checkpoint.load_weights(nn.Linear(5, 5), path)
    (path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(DataError, match="model.safetensors: unreadable weights"):
        checkpoint.load_weights(model, path)


def test_trainer_state_is_json_not_pickle(tmp_path):
    model, opt = _model_and_opt()
    path = checkpoint.save(tmp_path, 1, model, opt, {}, {})
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "model.safetensors",
        "optimizer.safetensors",
        "trainer.json",
    ]
    assert json.loads((path / "trainer.json").read_text())["step"] == 1


def test_weights_get_the_mode_of_the_other_run_files(tmp_path):
    model, opt = _model_and_opt()
    path = checkpoint.save(tmp_path, 1, model, opt, {}, {})
    modes = {f.name: f.stat().st_mode & 0o777 for f in path.iterdir()}
    assert modes["model.safetensors"] == modes["trainer.json"] == 0o666 & ~checkpoint.UMASK, modes


def test_the_latest_pointer_never_leads_outside_the_run(tmp_path):
    model, opt = _model_and_opt()
    good = checkpoint.save(tmp_path / "run", 2, model, opt, {}, {})
    elsewhere = checkpoint.save(tmp_path / "other", 9, model, opt, {}, {})
    pointer = tmp_path / "run" / "checkpoints" / "latest"
    pointer.write_text(f"../../other/checkpoints/{elsewhere.name}")
    assert checkpoint.latest(tmp_path / "run") == good  # the run's own newest, not the other run's


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("trainer.json", '{"step": ', "unreadable trainer state"),
        ("trainer.json", '{"optimizer": {}}', "unreadable trainer state"),
        ("optimizer.safetensors", "garbage", "unreadable optimizer state"),
    ],
)
def test_a_corrupt_training_state_is_an_error_naming_its_file(tmp_path, name, content, what):
    model, opt = _model_and_opt()
    path = checkpoint.save(tmp_path, 3, model, opt, {}, {})
    (path / name).write_text(content)
    with pytest.raises(DataError, match=rf"{name}: {what} .*remove that checkpoint folder"):
        checkpoint.load_training_state(path, *_model_and_opt())
