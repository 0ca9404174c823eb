"""scikit-learn's bundled 8x8 handwritten digits: the built-in default set."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from maskfuse.config import DataConfig
from maskfuse.data.base import Splits, fixed_split, image_splits
from maskfuse.errors import DataError
from maskfuse.registry import DATASETS


@DATASETS.register("digits")
def load(cfg: DataConfig) -> Splits:
    """1,797 grey 8x8 digits scaled to [0, 1]; a fixed stratified split (data.split_seed)."""
    if cfg.path:
        raise DataError(
            f"data.name=digits is built in and reads no file; to read {cfg.path} set data.name to its source "
            f"({', '.join(n for n in DATASETS.names() if n != 'digits')})"
        )
    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[:, None]  # [N, 1, 8, 8]
    y = bunch.target.astype(np.int64)
    tr_x, tr_y, te_x, te_y = fixed_split(x, y, cfg.test_fraction, cfg.split_seed)
    names = tuple(str(i) for i in range(10))
    return image_splits(tr_x, tr_y, te_x, te_y, "digits (scikit-learn)", names)
