"""Build a registered method from a resolved config and a data spec. Importing this module
imports the methods package, which registers every method."""

from __future__ import annotations

import torch
from torch import nn

import maskfuse.masking  # noqa: F401  (registers samplers)
from maskfuse.config import Config
from maskfuse.errors import ConfigError
from maskfuse.registry import METHODS, OBJECTIVES, SAMPLERS
from maskfuse.types import DataSpec


def check_names(cfg: Config) -> None:
    """Every component the config names by name is registered, and each objective fits the key
    that names it (contrastive.loss takes view objectives, multimodal.loss cross-modal ones).
    The lists come from the registries, so a new component needs no edit here or in config.py."""
    METHODS.get(cfg.method)
    SAMPLERS.get(cfg.mask.sampler)
    for section in ("contrastive", "multimodal"):
        name = getattr(cfg, section).loss
        if getattr(OBJECTIVES.get(name), "section", None) != section:
            fits = [n for n in OBJECTIVES.names() if getattr(OBJECTIVES.get(n), "section", None) == section]
            raise ConfigError(f"{section}.loss={name}: not a {section} objective; choose one of {', '.join(fits)}")


def build_method(cfg: Config, spec: DataSpec, seed: int | None = None) -> nn.Module:
    """The method cfg.method, its weights initialised from `seed` (cfg.train.seed by default)."""
    check_names(cfg)
    method = METHODS.get(cfg.method)
    paired = getattr(method, "paired", False)
    if paired and not spec.parts:
        raise ConfigError(
            f"method '{cfg.method}' learns from paired multimodal data; {spec.modality} data has one modality"
        )
    if spec.parts and not paired:
        multi = ", ".join(n for n in METHODS.names() if getattr(METHODS.get(n), "paired", False))
        raise ConfigError(
            f"method '{cfg.method}' takes one modality; paired data ({', '.join(spec.parts)}) needs {multi}"
        )
    allowed = getattr(method, "modalities", None)
    if allowed is not None and spec.modality not in allowed:
        raise ConfigError(f"method '{cfg.method}' works on {', '.join(allowed)} data, not {spec.modality}")
    torch.manual_seed(cfg.train.seed if seed is None else seed)
    model = method(cfg, spec)
    _check_grid(cfg.mask.sampler, getattr(model, "sampler", None), getattr(model, "backbone", None))
    return model


def _check_grid(name: str, sampler: object, backbone: object) -> None:
    """A sampler drawn for 1-D / 2-D grids (`max_axes`) refuses a tokenizer's grid of more
    axes (volumes, video) when the model is built, not at its first step."""
    most = getattr(sampler, "max_axes", None)
    grid = getattr(getattr(backbone, "tokenizer", None), "grid", ())
    if most is not None and len(grid) > most:
        fits = [n for n in SAMPLERS.names() if getattr(SAMPLERS.get(n), "max_axes", None) is None]
        raise ConfigError(f"mask.sampler={name} draws on token grids of at most {most} axes; these tokens lie on a "
                          f"{len(grid)}-axis grid {tuple(grid)}. Choose one of {', '.join(fits)}")  # fmt: skip
