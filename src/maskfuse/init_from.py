"""`model.init=SOURCE`: start a run's encoder from weights that already exist.

SOURCE is a maskfuse run folder (its latest checkpoint), a `maskfuse export` folder, or a
`.safetensors` state dict (a backbone's, or a checkpoint's with its `backbone.` prefix).
Every tensor of the new backbone is matched by name and shape and marked `loaded`,
`kept` (the new data's input statistics, which the tokenizer standardises with: they
describe this data, not the source's) or `left at init` (absent from the source, or of
another shape, e.g. another patch size). Positions are fixed sin-cos tables computed for
each grid, so another input size needs no resizing. A source that leaves any weight at
init is an error naming those tensors, unless model.init_strict=false. The table is
printed when the run starts and saved as run_dir/init.json. Weights are read from
safetensors only; timm:, hf: and open_clip: names are not read yet.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from maskfuse import checkpoint
from maskfuse.errors import ConfigError

DATA_STATISTICS = ("in_mean", "in_std")  # buffers that describe the data a tokenizer reads
NOT_YET = ("timm:", "hf:", "open_clip:")


def source_weights(source: str) -> dict[str, torch.Tensor]:
    """The backbone tensors of SOURCE, by their names in a maskfuse backbone."""
    if source.startswith(NOT_YET):
        raise ConfigError(f"model.init={source}: timm, Hugging Face and open_clip names are not read yet; "
                          "give a maskfuse run or export folder, or a .safetensors file")  # fmt: skip
    path = Path(source)
    if path.is_dir() and (path / "checkpoints").is_dir():
        ckpt = checkpoint.latest(path)
        if ckpt is None:
            raise ConfigError(f"model.init={source}: the run holds no checkpoint")
        file = ckpt / "model.safetensors"
    elif path.is_dir() and (path / "model.safetensors").is_file():
        file = path / "model.safetensors"
    elif path.is_file() and path.suffix == ".safetensors":
        file = path
    else:
        raise ConfigError(f"model.init={source}: expected a maskfuse run or export folder, or a .safetensors file")
    weights = checkpoint.read_weights(file)
    if any(k.startswith("backbone.") for k in weights):  # a checkpoint's whole method
        weights = {k[len("backbone.") :]: v for k, v in weights.items() if k.startswith("backbone.")}
    return weights


def init_from(backbone: nn.Module, source: str, strict: bool = True) -> list[dict]:
    """Load what fits of SOURCE into `backbone`; returns one row per tensor (name, shape, what
    happened, and why when it was not loaded)."""
    weights = source_weights(source)
    state = backbone.state_dict()
    rows, update = [], {}
    for name, tensor in state.items():
        row = {"tensor": name, "shape": list(tensor.shape)}
        if name.rsplit(".", 1)[-1] in DATA_STATISTICS:
            row.update(status="kept", why="this data's input statistics")
        elif name not in weights:
            row.update(status="left at init", why="not in the source")
        elif tuple(weights[name].shape) != tuple(tensor.shape):
            row.update(status="left at init", why=f"the source's is {list(weights[name].shape)}")
        else:
            row["status"] = "loaded"
            update[name] = weights[name].to(tensor.dtype)
        rows.append(row)
    missing = [r["tensor"] for r in rows if r["status"] == "left at init"]
    if missing and strict:
        shown = ", ".join(f"{r['tensor']} ({r['why']})" for r in rows if r["status"] == "left at init")
        raise ConfigError(f"model.init={source}: {len(missing)} tensors would stay at init: {shown}; "
                          "set model.init_strict=false to start from what fits")  # fmt: skip
    if not update:
        raise ConfigError(f"model.init={source}: no tensor of the source fits this encoder")
    backbone.load_state_dict(update, strict=False)
    unused = sorted(set(weights) - set(state))
    rows += [{"tensor": name, "shape": list(weights[name].shape), "status": "unused", "why": "not in this encoder"}
             for name in unused]  # fmt: skip
    return rows
