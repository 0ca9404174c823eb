"""Atomic checkpoints in safetensors: weights, optimizer state, and the step.

A checkpoint is a folder `checkpoints/step-NNNNNNN/` written under a temporary name
and renamed into place, then `checkpoints/latest` is replaced atomically to point at
it. A run killed at any moment leaves either the old or the new checkpoint, never a
half-written one. Nothing is unpickled on load: tensors come from safetensors and
everything else from JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from maskfuse.errors import DataError

LATEST = "latest"


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{pid}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for flat, value in list(tensors.items()) + list(meta["scalars"].items()):
        pid, key = flat.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save(
    folder: Path, step: int, model: nn.Module, opt: torch.optim.Optimizer, config: dict, spec: dict, keep: int = 1
) -> Path:
    """Write checkpoint `step` under folder/checkpoints and point `latest` at it."""
    root = folder / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:07d}"
    tmp = root / f".step-{step:07d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(weights, str(tmp / "model.safetensors"))
    opt_tensors, opt_meta = _optimizer_tensors(opt)
    save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    (tmp / "trainer.json").write_text(json.dumps({"step": step, "optimizer": opt_meta}))
    (tmp / "config.json").write_text(json.dumps({"config": config, "data_spec": spec}, indent=2))
    mode = 0o666 & ~UMASK  # safetensors writes 0600; weights get the run's other files' mode
    for f in tmp.iterdir():
        f.chmod(mode)
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    write_text_atomic(root / LATEST, final.name)
    for old in sorted(p for p in root.glob("step-*") if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


UMASK = _umask()  # read once, at import: setting it later would race other threads creating files


def latest(folder: Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None if it has none."""
    root = folder / "checkpoints"
    pointer = root / LATEST
    if pointer.is_file():
        name = pointer.read_text().strip()
        path = root / name
        if re.fullmatch(r"step-\d{7}", name) and (path / "model.safetensors").is_file():  # never outside the run
            return path
    done = sorted(p for p in root.glob("step-*") if (p / "trainer.json").is_file())
    return done[-1] if done else None


def read_config(ckpt: Path) -> tuple[dict, dict]:
    """(config, data_spec) dicts saved with a checkpoint."""
    try:
        meta = json.loads((ckpt / "config.json").read_text())
        return meta["config"], meta["data_spec"]
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{ckpt / 'config.json'}: unreadable checkpoint config ({err})") from err


def read_weights(path: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file (those under `prefix`, with it removed); a file
    that cannot be read is a DataError naming it."""
    try:
        weights = load_file(str(path))
    except Exception as err:  # safetensors raises its own error types
        raise DataError(f"{path}: unreadable weights ({err})") from err
    if prefix:
        weights = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
    return weights


def load_weights(model: nn.Module, ckpt: Path, prefix: str = "") -> None:
    """Load `model` (or the sub-module under `prefix`) from ckpt/model.safetensors."""
    path = ckpt / "model.safetensors"
    weights = read_weights(path, prefix)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise DataError(f"{path}: weights do not fit the model (missing {missing[:3]}, unexpected {unexpected[:3]})")


def load_training_state(ckpt: Path, model: nn.Module, opt: torch.optim.Optimizer) -> int:
    """Restore weights and optimizer state in place; return the step to continue from."""
    load_weights(model, ckpt)
    hint = "remove that checkpoint folder to resume from the one before it, if the run kept one"
    try:
        meta = json.loads((ckpt / "trainer.json").read_text())
        step, saved = int(meta["step"]), meta["optimizer"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{ckpt / 'trainer.json'}: unreadable trainer state ({err}); {hint}") from err
    path = ckpt / "optimizer.safetensors"
    try:
        opt.load_state_dict(_optimizer_state(load_file(str(path)), saved))
    except Exception as err:  # safetensors' own errors, or a state that does not fit the optimizer
        raise DataError(f"{path}: unreadable optimizer state ({err}); {hint}") from err
    return step
