"""Retrieval, zero-shot and missing-modality metrics on embeddings with known answers."""

import pytest
import torch
import torch.nn.functional as F

from maskfuse.data.paired import PairedDataset
from maskfuse.evaluate.crossmodal import (
    all_retrieval,
    joint_retrieval,
    missing_robustness,
    retrieval,
    support_prototypes,
    zero_shot,
)


def test_retrieval_ranks_against_a_naive_count():
    g = torch.Generator().manual_seed(0)
    q, k = F.normalize(torch.randn(20, 4, generator=g), dim=1), F.normalize(torch.randn(20, 4, generator=g), dim=1)
    labels = torch.arange(20) % 3
    out = retrieval(q, k, labels)
    ranks = [1 + sum(float(q[i] @ k[j]) > float(q[i] @ k[i]) for j in range(20)) for i in range(20)]
    for n in (1, 5, 10):
        assert out[f"R@{n}"] == pytest.approx(100 * sum(r <= n for r in ranks) / 20)
    assert out["median_rank"] == float(torch.tensor(ranks, dtype=torch.float).median())
    top = [max(range(20), key=lambda j: float(q[i] @ k[j])) for i in range(20)]
    assert out["class_R@1"] == pytest.approx(100 * sum(labels[t] == labels[i] for i, t in enumerate(top)) / 20)


def test_perfect_and_shuffled_pairs():
    z = F.normalize(torch.randn(30, 8), dim=1)
    assert retrieval(z, z)["R@1"] == 100.0 and retrieval(z, z)["median_rank"] == 1.0
    assert retrieval(z, z[torch.randperm(30)])["R@1"] < 50


def test_retrieval_uses_only_rows_holding_both_modalities():
    z = F.normalize(torch.randn(10, 8), dim=1)
    present = torch.ones(10, 2, dtype=torch.bool)
    present[3, 1] = False
    data = PairedDataset({"a": torch.zeros(10, 1), "b": torch.zeros(10, 1)}, present, None)
    out = all_retrieval({"a": z, "b": z}, data)
    assert out["a->b"]["rows"] == 9 and out["b->a"]["R@1"] == 100.0


def test_zero_shot_by_support_prototypes():
    centers = torch.eye(3, 5)
    labels = torch.tensor([0, 1, 2] * 4)
    z = F.normalize(centers[labels] + 0.1 * torch.randn(12, 5), dim=1)
    proto = support_prototypes(z, labels, torch.arange(12), 3)
    assert zero_shot(z, labels, proto) == 100.0
    assert zero_shot(z, labels, proto[[1, 2, 0]]) == 0.0


def test_missing_robustness_drops_each_modality():
    labels = torch.arange(60) % 2
    signal = F.one_hot(labels, 4).float()
    train = {"a": signal + 0.1 * torch.randn(60, 4), "b": 0.3 * torch.randn(60, 4)}
    test = {"a": signal + 0.1 * torch.randn(60, 4), "b": 0.3 * torch.randn(60, 4)}
    out = missing_robustness(train, labels, test, labels)
    assert out["all"] > 90 and out["without b"] > 90  # b carries nothing
    assert out["without a"] < 75  # without the informative modality: near chance


def test_joint_retrieval_scores_by_the_multilinear_product():
    """z = x * y elementwise (signs): pairwise cosines carry nothing, the triple product
    finds the match."""
    x, y = torch.randn(40, 32).sign(), torch.randn(40, 32).sign()
    z = {"x": x, "y": y, "z": x * y}
    data = PairedDataset({k: torch.zeros(40, 1) for k in z}, torch.ones(40, 3, dtype=torch.bool), None)
    out = joint_retrieval(z, data)
    assert set(out) == {"y,z->x", "x,z->y", "x,y->z"}
    assert all(r["R@1"] == 100.0 for r in out.values())
    assert all_retrieval(z, data)["x->z"]["R@1"] < 20
    two = {"x": x, "y": y}
    assert (
        joint_retrieval(
            two, PairedDataset({k: torch.zeros(40, 1) for k in two}, torch.ones(40, 2, dtype=torch.bool), None)
        )
        == {}
    )
