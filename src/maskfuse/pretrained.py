"""A trained backbone loaded back from a run directory, ready to embed new data."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from maskfuse import checkpoint
from maskfuse.config import Config, resolve
from maskfuse.data.base import ArrayDataset
from maskfuse.encoder import Backbone, MultiBackbone, build_backbone, embed_dataset
from maskfuse.errors import ConfigError, DataError
from maskfuse.types import DataSpec


@dataclass
class Pretrained:
    """The backbone of a run's latest checkpoint, with the config and data spec it was trained on."""

    backbone: Backbone | MultiBackbone
    config: Config
    spec: DataSpec
    step: int
    path: Path

    @torch.no_grad()
    def embed(self, inputs: np.ndarray | torch.Tensor, batch_size: int = 512, modality: str | None = None,
              shared: bool = False) -> np.ndarray:  # fmt: skip
        """Pooled embeddings [N, D] of raw inputs shaped like the training data.

        Images are [N, C, H, W] (or [N, H, W] for one channel) with values in [0, 1],
        as every maskfuse image source delivers them. A multimodal run needs `modality`
        (one of its modality names); `shared=True` gives that modality's unit embedding
        in the joint space instead of the trunk's pooled features.
        """
        backbone, spec = self.backbone, self.spec
        if spec.parts:
            if modality not in spec.parts:
                raise DataError(f"this run is multimodal: pass modality= one of {', '.join(spec.parts)}")
            backbone, spec = self.backbone.part(modality), spec.parts[modality]
        elif shared:
            raise DataError("shared=True needs a multimodal run")
        x = torch.as_tensor(np.asarray(inputs) if not torch.is_tensor(inputs) else inputs, dtype=torch.float32)
        shape = tuple(spec.shape)
        if x.dim() == len(shape) and shape[0] == 1:
            x = x.unsqueeze(1)
        if tuple(x.shape[1:]) != shape:
            raise DataError(f"inputs have per-sample shape {list(x.shape[1:])}; this model expects {list(shape)}")
        if len(x) == 0:
            return np.zeros((0, backbone.encoder.dim), np.float32)
        z = embed_dataset(backbone, ArrayDataset(x, modality=spec.modality), batch_size)
        if shared:
            z = self.backbone.project(modality, z)
        return z.numpy()


def weights_from_file(cfg: Config) -> Config:
    """The config to rebuild a saved encoder with: its weights come from the file, so the
    model.init it was started from is not read again (it may be gone)."""
    return replace(cfg, model=replace(cfg.model, init=None))


def load(run_dir: str | Path) -> Pretrained:
    """Load the latest checkpoint of a run directory (weights from safetensors only)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: run directory does not exist")
    for _ in range(10):  # a run training meanwhile may replace the newest checkpoint while it is read
        ckpt = checkpoint.latest(run_dir)
        if ckpt is None:
            raise ConfigError(f"{run_dir}: holds no checkpoint (was the run started with maskfuse pretrain?)")
        try:
            cfg_dict, spec_dict = checkpoint.read_config(ckpt)
            cfg = resolve(base=cfg_dict)
            spec = DataSpec.from_dict(spec_dict)
            backbone = build_backbone(weights_from_file(cfg), spec)
            checkpoint.load_weights(backbone, ckpt, prefix="backbone.")
        except DataError:
            if checkpoint.latest(run_dir) == ckpt:
                raise  # a real fault of the newest checkpoint
            continue  # replaced (and being removed) by the training run: read its successor
        backbone.eval()
        step = int(ckpt.name.split("-")[-1])
        return Pretrained(backbone, cfg, spec, step, run_dir)
    raise DataError(f"{run_dir}: its checkpoints changed ten times while being read; try again")


def from_pretrained(path: str | Path, input_shape: tuple[int, ...] | None = None) -> Pretrained:
    """An encoder from a `maskfuse export` folder (model.safetensors + config.json), or from a
    run folder (its latest checkpoint, as `load`). Weights come from safetensors only.

    `input_shape` (images: (C, H, W)) reads images of another size than the encoder was
    trained on: the trained positions are stretched over the new token grid."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: does not exist (expected a maskfuse run or export folder)")
    if (path / "checkpoints").is_dir():
        model = load(path)
    elif (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        cfg_dict, spec_dict = checkpoint.read_config(path)
        spec = DataSpec.from_dict(spec_dict)
        backbone = build_backbone(weights_from_file(resolve(base=cfg_dict)), spec)
        checkpoint.load_weights(backbone, path)
        step = json.loads((path / "config.json").read_text()).get("step", 0)
        model = Pretrained(backbone.eval(), resolve(base=cfg_dict), spec, int(step), path)
    else:
        raise ConfigError(f"{path}: neither a maskfuse export (model.safetensors + config.json) nor a run folder")
    if input_shape is None or tuple(input_shape) == tuple(model.spec.shape):
        return model
    return resized(model, tuple(input_shape))


def resized(model: Pretrained, shape: tuple[int, ...]) -> Pretrained:
    """The same image encoder for inputs of `shape` (C, H, W), its positions stretched."""
    spec = model.spec
    if spec.modality != "image" or len(shape) != 3 or shape[0] != spec.shape[0]:
        raise ConfigError(
            f"input_shape={list(shape)}: only image encoders take another size, with the same channels "
            f"({spec.modality} {list(spec.shape)})"
        )
    new_spec = replace(spec, shape=shape)
    backbone = build_backbone(weights_from_file(model.config), new_spec)
    backbone.load_state_dict(model.backbone.state_dict())
    backbone.tokenizer.stretch_positions(model.backbone.tokenizer.grid)
    return replace(model, backbone=backbone.eval(), spec=new_spec)
