"""Frozen features of a dataset, computed once and shared by every protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from maskfuse.data.base import ArrayDataset, Splits
from maskfuse.encoder import Backbone, masked_mean


@dataclass
class FeatureSet:
    """One feature extractor's embeddings of both splits.

    Attributes:
        name: Row name in the results ("raw input", "random init", "pretrained").
        splits: The data the features came from.
        featurize: Raw batch -> pooled features, for protocols that need new inputs
            (augmented views for alignment).
        train: Pooled training features [N, D].
        test: Pooled test features [M, D].
        variants: Pooling name -> (train, test) features, for the linear-probe grid.
        backbone: The encoder, or None for raw inputs (fine-tuning needs it).
    """

    name: str
    splits: Splits
    featurize: Callable[[torch.Tensor], torch.Tensor]
    train: torch.Tensor
    test: torch.Tensor
    variants: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    backbone: Backbone | None = None

    @property
    def train_labels(self) -> torch.Tensor | None:
        return self.splits.train.labels

    @property
    def test_labels(self) -> torch.Tensor | None:
        return self.splits.test.labels

    @property
    def labeled(self) -> bool:
        return self.train_labels is not None and self.test_labels is not None


@torch.no_grad()
def raw_feature_set(splits: Splits, featurize: Callable[[torch.Tensor], torch.Tensor], batch_size: int) -> FeatureSet:
    """The no-learning baseline: each split through the tokenizer's `raw_features`
    (pixels for images, values for series, log-mel statistics for audio)."""

    def whole(data: ArrayDataset) -> torch.Tensor:
        return torch.cat([featurize(data.inputs[i : i + batch_size]) for i in range(0, len(data), batch_size)])

    train, test = whole(splits.train), whole(splits.test)
    return FeatureSet("raw input", splits, featurize, train, test, {"raw": (train, test)})


def grid_means(tokens: torch.Tensor, valid: torch.Tensor, grid: tuple[int, ...]) -> torch.Tensor:
    """Token means over the 2^A cells made by halving each of the A axes of the token grid,
    concatenated: [B, N, D] -> [B, 2^A * D]. Spatial pooling keeps where things are (the
    quadrant pooling of Coates et al., AISTATS 2011), which one mean over the grid loses."""
    b, _, d = tokens.shape
    cells = []
    masks = [torch.arange(size, device=tokens.device) < (size + 1) // 2 for size in grid]
    for corner in range(2 ** len(grid)):
        inside = torch.ones(grid, dtype=torch.bool, device=tokens.device)
        for axis, first in enumerate(masks):
            half = first if (corner >> axis) & 1 == 0 else ~first
            shape = [1] * len(grid)
            shape[axis] = -1
            inside = inside & half.view(shape)
        cells.append(masked_mean(tokens, valid & inside.flatten()[None]))
    return torch.cat(cells, dim=1)


@torch.no_grad()
def pooling_variants(backbone: Backbone, x: torch.Tensor, last_n: int) -> dict[str, torch.Tensor]:
    """Poolings of one batch: mean of final tokens, the cls token, the concatenated token
    means of the last `last_n` blocks (DINOv2's linear-probe features), and for token grids
    of two or more axes (images, spectrograms) the same with 2 x 2 spatial cells."""
    states = backbone.forward_intermediates(x)
    final = states[-1]
    out = {"mean": masked_mean(final.tokens, final.valid)}
    if final.cls is not None:
        out["cls"] = final.cls
    n = min(last_n, len(states))
    if n > 1:
        out[f"mean-last{n}"] = torch.cat([masked_mean(s.tokens, s.valid) for s in states[-n:]], dim=1)
    grid = tuple(backbone.tokenizer.grid)
    if len(grid) >= 2 and min(grid) >= 2:
        out["grid"] = grid_means(final.tokens, final.valid, grid)
        if n > 1:
            out[f"grid-last{n}"] = torch.cat([grid_means(s.tokens, s.valid, grid) for s in states[-n:]], dim=1)
    return out


@torch.no_grad()
def backbone_feature_set(name: str, backbone: Backbone, splits: Splits, batch_size: int, last_n: int) -> FeatureSet:
    """Pooled features and every pooling variant of both splits, in one pass per split."""
    backbone.eval()
    device = next(backbone.parameters()).device
    per_split = []
    for data in (splits.train, splits.test):
        chunks: dict[str, list[torch.Tensor]] = {}
        pooled = []
        for i in range(0, len(data), batch_size):
            x = data.inputs[i : i + batch_size].to(device)
            pooled.append(backbone(x).cpu())
            for key, value in pooling_variants(backbone, x, last_n).items():
                chunks.setdefault(key, []).append(value.cpu())
        per_split.append((torch.cat(pooled), {k: torch.cat(v) for k, v in chunks.items()}))
    (train, tr_var), (test, te_var) = per_split
    variants = {k: (tr_var[k], te_var[k]) for k in tr_var}

    def featurize(x: torch.Tensor) -> torch.Tensor:
        return backbone(x.to(device)).cpu()

    return FeatureSet(name, splits, featurize, train, test, variants, backbone)
