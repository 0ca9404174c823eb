"""Online monitors: cheap label-free and labelled signals read during pretraining.

A monitor embeds a fixed held-out subset with the backbone in eval mode and no
gradients, and draws no random numbers, so it never changes what the training step does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from maskfuse.data.base import Splits, spread
from maskfuse.encoder import Backbone, embed_dataset
from maskfuse.evaluate.knn import knn_accuracy
from maskfuse.evaluate.rankme import rankme


@dataclass
class OnlineMonitor:
    """RankMe on `rows` test samples, and k-NN accuracy against `rows` training samples
    when labels exist, both spread over the classes (data sorted by class would give the
    first rows one or two classes); flags collapse.

    Collapse is flagged when the embedding is near-constant (mean per-dimension std
    below 1e-4) or its effective rank falls under a quarter of the best seen so far.
    """

    splits: Splits
    rows: int = 1000
    k: int = 20
    best_rank: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.train = spread(self.splits.train, self.rows)
        self.test = spread(self.splits.test, self.rows)

    @torch.no_grad()
    def __call__(self, backbone: Backbone) -> dict[str, float | bool]:
        was_training = backbone.training
        z_test = embed_dataset(backbone, self.test)
        stats: dict[str, float | bool] = {"monitor/rankme": rankme(z_test)}
        if self.train.labels is not None and self.test.labels is not None:
            z_train = embed_dataset(backbone, self.train)
            stats["monitor/knn"] = knn_accuracy(z_train, self.train.labels, z_test, self.test.labels, self.k)
        backbone.train(was_training)
        spread = float(z_test.std(0).mean())
        rank = float(stats["monitor/rankme"])
        collapsed = spread < 1e-4 or (self.best_rank > 0 and rank < 0.25 * self.best_rank)
        self.best_rank = max(self.best_rank, rank)
        stats["monitor/collapse"] = collapsed
        return stats
