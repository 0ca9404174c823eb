"""Losses, one small file each. Importing this package registers them."""

from maskfuse.objectives import infonce, reconstruction  # noqa: F401
