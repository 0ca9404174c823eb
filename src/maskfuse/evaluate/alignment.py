"""Representation alignment between two embeddings of the same rows: linear CKA and mutual k-NN."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear centred kernel alignment of x [N, D1] and y [N, D2] (Kornblith et al., 2019).

    1 for representations equal up to rotation and isotropic scaling, near 0 for unrelated.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs the same rows: {x.shape[0]} vs {y.shape[0]}")
    x, y = x.double() - x.double().mean(0), y.double() - y.double().mean(0)
    cross = (x.T @ y).pow(2).sum()
    return float(cross / ((x.T @ x).pow(2).sum().sqrt() * (y.T @ y).pow(2).sum().sqrt()))


def mutual_knn(x: torch.Tensor, y: torch.Tensor, k: int = 10) -> float:
    """Mean share of each row's k cosine nearest neighbours that two spaces agree on
    (the mutual-k-NN alignment of Huh et al., 2024, "The Platonic Representation Hypothesis")."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"mutual k-NN needs the same rows: {x.shape[0]} vs {y.shape[0]}")
    k = min(k, x.shape[0] - 1)

    def neighbours(z: torch.Tensor) -> torch.Tensor:
        z = F.normalize(z.float(), dim=1)
        sims = z @ z.T
        sims.fill_diagonal_(float("-inf"))
        return sims.topk(k, dim=1).indices

    nx, ny = neighbours(x), neighbours(y)
    hits = (nx.unsqueeze(2) == ny.unsqueeze(1)).any(2).float().sum(1)  # [N]
    return float((hits / k).mean())
