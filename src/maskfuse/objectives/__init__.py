"""Losses, one small file each. Importing this package registers them."""

from maskfuse.objectives import (  # noqa: F401
    all_pairs,
    clip,
    dcl,
    feature_reconstruction,
    hard_negatives,
    infonce,
    loss_predictor,
    masked_tokens,
    queue_infonce,
    reconstruction,
    siglip,
    symile,
    tau,
    tcl,
)
