"""Mask plans made outside the model. Importing this package registers the samplers."""

from maskfuse.masking import block, guided, hardpatch, multiblock, noise, random, tube  # noqa: F401
from maskfuse.masking.ops import gather, merge, restore

__all__ = ["gather", "merge", "restore"]
