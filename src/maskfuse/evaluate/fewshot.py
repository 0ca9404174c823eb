"""Few-shot classification: nearest class prototype from n labelled examples per class."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from maskfuse.config import EvalConfig
from maskfuse.evaluate.features import FeatureSet
from maskfuse.evaluate.protocol import protocol


def prototype_accuracy(
    train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, test_labels: torch.Tensor,
    shots: int, episodes: int, seed: int = 0,
) -> float:  # fmt: skip
    """Mean test accuracy over episodes; each draws `shots` training rows per class and
    classifies by cosine similarity to the class means (prototypical networks)."""
    g = torch.Generator().manual_seed(seed)
    train_n, test_n = F.normalize(train.float(), dim=1), F.normalize(test.float(), dim=1)
    classes = torch.unique(train_labels)
    pools = [torch.nonzero(train_labels == c).flatten() for c in classes]
    accs = []
    for _ in range(episodes):
        protos = []
        for pool in pools:
            pick = pool[torch.randperm(len(pool), generator=g)[:shots]]
            protos.append(train_n[pick].mean(0))
        pred = classes[(test_n @ F.normalize(torch.stack(protos), dim=1).T).argmax(1)]
        accs.append(float((pred == test_labels).float().mean()))
    return sum(accs) / len(accs)


@protocol("fewshot", headline="5-shot", column="5-shot")
def evaluate_fewshot(fs: FeatureSet, cfg: EvalConfig) -> dict[str, Any]:
    shots = tuple(sorted(set(cfg.fewshot_shots) | {5}))
    return {
        f"{n}-shot": prototype_accuracy(
            fs.train, fs.train_labels, fs.test, fs.test_labels, n, cfg.fewshot_episodes, cfg.seed
        )
        for n in shots
    }
