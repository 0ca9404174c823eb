"""Build a registered method from a resolved config and a data spec."""

from __future__ import annotations

import torch
from torch import nn

import maskfuse.masking  # noqa: F401  (registers samplers)
import maskfuse.methods  # noqa: F401  (registers methods)
from maskfuse.config import Config
from maskfuse.data.base import DataSpec
from maskfuse.registry import METHODS


def build_method(cfg: Config, spec: DataSpec, seed: int | None = None) -> nn.Module:
    """The method cfg.method, its weights initialised from `seed` (cfg.train.seed by default)."""
    torch.manual_seed(cfg.train.seed if seed is None else seed)
    return METHODS.get(cfg.method)(cfg, spec)
