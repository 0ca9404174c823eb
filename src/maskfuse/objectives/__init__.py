"""Losses, one small file each. Importing this package registers them."""

from maskfuse.registry import import_all

import_all(__name__, __path__)  # every module registers what it defines
