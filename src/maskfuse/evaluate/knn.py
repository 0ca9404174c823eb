"""Weighted k-nearest-neighbour classification on cosine similarity."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def knn_predict(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    k: int = 20,
    temperature: float = 0.07,
    chunk: int = 2048,
) -> torch.Tensor:
    """Predicted labels [M] for test embeddings [M, D] from train embeddings [N, D].

    Each of the k most cosine-similar training rows votes for its label with weight
    exp(similarity / temperature), as in InstDisc and DINO. Test rows are processed in
    chunks so memory stays at chunk x N.
    """
    if temperature <= 0:
        raise ValueError(f"knn temperature must be > 0, got {temperature}")
    k = min(k, train.shape[0])
    num_classes = int(train_labels.max()) + 1
    train_n = F.normalize(train.float(), dim=1)
    preds = []
    for start in range(0, test.shape[0], chunk):
        q = F.normalize(test[start : start + chunk].float(), dim=1)
        sims, idx = (q @ train_n.T).topk(k, dim=1)  # [c, k]
        votes = torch.zeros(q.shape[0], num_classes, dtype=sims.dtype, device=sims.device)
        votes.scatter_add_(1, train_labels[idx], (sims / temperature).exp())
        preds.append(votes.argmax(dim=1))
    return torch.cat(preds)


def knn_accuracy(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    k: int = 20,
    temperature: float = 0.07,
) -> float:
    """Share of test rows whose k-NN vote equals their label."""
    pred = knn_predict(train, train_labels, test, k, temperature)
    return float((pred == test_labels).float().mean())
