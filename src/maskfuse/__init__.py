"""maskfuse: self-supervised representation learning on any mix of modalities.

The API names load on first use (PEP 562), so `import maskfuse` and the command
line's `--help` do not pay for torch until something needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from maskfuse.errors import ConfigError, DataError, MaskfuseError, TrainingDiverged

if TYPE_CHECKING:
    from maskfuse.api import Config, Pretrained, evaluate, load, pretrain, resolve, resume

__version__ = "0.1.0"
_FROM_API = ("Config", "Pretrained", "evaluate", "load", "pretrain", "resolve", "resume")
__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "MaskfuseError",
    "Pretrained",
    "TrainingDiverged",
    "evaluate",
    "load",
    "pretrain",
    "resolve",
    "resume",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_API:
        value = getattr(importlib.import_module("maskfuse.api"), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'maskfuse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
