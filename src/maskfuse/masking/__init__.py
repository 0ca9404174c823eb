"""Mask plans made outside the model. Importing this package registers the samplers."""

from maskfuse.masking.ops import gather, merge, restore
from maskfuse.registry import import_all

import_all(__name__, __path__)  # every module registers what it defines

__all__ = ["gather", "merge", "restore"]
