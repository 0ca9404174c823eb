"""RankMe: the effective rank of an embedding matrix, a label-free quality signal."""

from __future__ import annotations

import torch


def rankme(embeddings: torch.Tensor, eps: float = 1e-7) -> float:
    """exp(entropy of the normalised singular values) of embeddings [N, D].

    Garrido et al., "RankMe: Assessing the Downstream Performance of Pretrained
    Self-Supervised Representations by Their Rank", ICML 2023. Ranges from 1 (collapse)
    to min(N, D).
    """
    s = torch.linalg.svdvals(embeddings.double())
    p = s / (s.sum() + eps) + eps
    return float(torch.exp(-(p * p.log()).sum()))
