"""Weighted k-nearest-neighbour classification on cosine similarity, over a grid of k."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from maskfuse.config import EvalConfig
from maskfuse.evaluate.features import FeatureSet
from maskfuse.evaluate.protocol import protocol


def knn_predict_grid(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    ks: tuple[int, ...],
    temperature: float = 0.07,
    chunk: int = 1024,
) -> dict[int, torch.Tensor]:
    """Predicted labels [M] for every k in `ks`, from one top-k search.

    Each of the k most cosine-similar training rows votes for its label with weight
    exp(similarity / temperature), as in InstDisc and DINO. Test rows go in chunks, so
    memory stays at chunk x N; the search for the largest k serves every smaller one.
    """
    if temperature <= 0:
        raise ValueError(f"knn temperature must be > 0, got {temperature}")
    if not ks or min(ks) < 1:
        raise ValueError(f"k must be >= 1, got {ks}")
    kmax = min(max(ks), train.shape[0])
    num_classes = int(train_labels.max()) + 1
    train_n = F.normalize(train.float(), dim=1)
    chunk = max(1, min(chunk, 2**24 // (kmax * num_classes)))  # keeps the vote tensor near 64 MB
    preds: dict[int, list[torch.Tensor]] = {k: [] for k in ks}
    for start in range(0, test.shape[0], chunk):
        q = F.normalize(test[start : start + chunk].float(), dim=1)
        sims, idx = (q @ train_n.T).topk(kmax, dim=1)  # [c, kmax], most similar first
        weights = (sims / temperature).exp()
        onehot = F.one_hot(train_labels[idx], num_classes).to(weights.dtype)  # [c, kmax, C]
        cumulative = (weights.unsqueeze(-1) * onehot).cumsum(dim=1)  # votes of the first j neighbours
        for k in ks:
            preds[k].append(cumulative[:, min(k, kmax) - 1].argmax(dim=1))
    return {k: torch.cat(v) for k, v in preds.items()}


def knn_predict(
    train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor, k: int = 20, temperature: float = 0.07
) -> torch.Tensor:
    return knn_predict_grid(train, train_labels, test, (k,), temperature)[k]


def knn_accuracy(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    k: int = 20,
    temperature: float = 0.07,
) -> float:
    """Share of test rows whose k-NN vote equals their label."""
    return float((knn_predict(train, train_labels, test, k, temperature) == test_labels).float().mean())


def headline_k(train_labels: torch.Tensor, k: int) -> int:
    """`k`, capped at the training rows of the smallest class: with more neighbours than a
    class has rows, a test row of that class is outvoted by the others however good the
    embedding is."""
    smallest = int(torch.bincount(train_labels)[torch.unique(train_labels)].min())
    return max(1, min(k, smallest))


def validation_accuracy(
    features: torch.Tensor, labels: torch.Tensor, k: int, temperature: float, val_fraction: float = 0.1, seed: int = 0
) -> float:
    """k-NN accuracy of a seeded `val_fraction` of the training rows against the rest."""
    perm = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(len(features) * val_fraction))
    val, rest = perm[:n_val], perm[n_val:]
    pred = knn_predict(features[rest], labels[rest], features[val], k, temperature)
    return float((pred == labels[val]).float().mean())


@protocol("knn", headline="top1", column="k-NN")
def evaluate_knn(fs: FeatureSet, cfg: EvalConfig) -> dict[str, Any]:
    """Accuracy for every k of the grid; the headline at eval.knn_k, capped by the smallest
    class (`k` says which k it is, `k_capped` whether the cap applied). With several
    poolings (`FeatureSet.variants`), the one whose k-NN is best on 10 % of the training
    rows is scored, as the linear probe chooses its pooling; no test row takes part."""
    k = headline_k(fs.train_labels, cfg.knn_k)
    variants = fs.variants or {"pooled": (fs.train, fs.test)}
    val = {}
    if len(variants) > 1:
        val = {n: validation_accuracy(tr, fs.train_labels, k, cfg.knn_temperature) for n, (tr, _) in variants.items()}
    pooling = max(val, key=val.get) if val else next(iter(variants))
    train, test = variants[pooling]
    ks = tuple(sorted(set(cfg.knn_grid) | {k}))
    preds = knn_predict_grid(train, fs.train_labels, test, ks, cfg.knn_temperature)
    accs = {f"k={n}": float((p == fs.test_labels).float().mean()) for n, p in preds.items()}
    out = {"top1": accs[f"k={k}"], "k": k, "k_capped": k < cfg.knn_k, "pooling": pooling, **accs}
    return out | ({"val_accuracy": val} if val else {})
