"""Losses, one small file each. Importing this package registers them."""

from maskfuse.objectives import dcl, hard_negatives, infonce, loss_predictor, reconstruction, tau  # noqa: F401
