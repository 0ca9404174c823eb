"""maskfuse: self-supervised representation learning on any mix of modalities.

The API names load on first use (PEP 562), so `import maskfuse` and the command
line's `--help` do not pay for torch until something needs it.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from maskfuse.errors import ConfigError, DataError, MaskfuseError, TrainingDiverged
from maskfuse.version import __version__

if TYPE_CHECKING:
    from maskfuse.api import Config, Pretrained, evaluate, from_pretrained, load, pretrain, resolve, resume

_FROM_API = ("Config", "Pretrained", "evaluate", "from_pretrained", "load", "pretrain", "resolve", "resume")
__all__ = [
    "__version__",
    "Config",
    "ConfigError",
    "DataError",
    "MaskfuseError",
    "Pretrained",
    "TrainingDiverged",
    "evaluate",
    "from_pretrained",
    "load",
    "pretrain",
    "resolve",
    "resume",
]


class _Package(types.ModuleType):
    """`maskfuse.evaluate` is the API function, as it always was, though a package of that name
    exists: the import system binds a subpackage onto its parent when it loads, and without this
    the function would be shadowed whenever `maskfuse.evaluate` loaded before the API did."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FROM_API and isinstance(value, types.ModuleType):
            return  # the subpackage stays reachable as sys.modules["maskfuse.evaluate"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _FROM_API:
        value = getattr(importlib.import_module("maskfuse.api"), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'maskfuse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
