"""maskfuse: self-supervised representation learning on any mix of modalities."""

from maskfuse.api import Config, Pretrained, evaluate, load, pretrain, resolve, resume
from maskfuse.errors import ConfigError, DataError, MaskfuseError, TrainingDiverged

__version__ = "0.1.0"
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
