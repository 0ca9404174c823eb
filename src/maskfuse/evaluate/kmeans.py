"""Clustering quality: k-means with as many clusters as classes, scored against the labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from maskfuse.config import EvalConfig
from maskfuse.evaluate.features import FeatureSet
from maskfuse.evaluate.protocol import protocol


def matched_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Accuracy after the best one-to-one map of clusters to labels (Hungarian matching)."""
    size = int(max(labels.max(), clusters.max())) + 1
    counts = np.zeros((size, size), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def cluster_scores(features: torch.Tensor, labels: torch.Tensor, restarts: int = 3, seed: int = 0) -> dict[str, float]:
    """NMI, ARI and matched accuracy of k-means (k = number of classes) on L2-normalised rows."""
    x = F.normalize(features.float(), dim=1).numpy()
    y = labels.numpy()
    k = len(np.unique(y))
    clusters = KMeans(n_clusters=k, n_init=restarts, random_state=seed).fit_predict(x)
    return {
        "accuracy": matched_accuracy(y, clusters),
        "nmi": float(normalized_mutual_info_score(y, clusters)),
        "ari": float(adjusted_rand_score(y, clusters)),
    }


@protocol("kmeans", headline="accuracy", column="k-means")
def evaluate_kmeans(fs: FeatureSet, cfg: EvalConfig) -> dict[str, Any]:
    return cluster_scores(fs.test, fs.test_labels, cfg.kmeans_restarts, cfg.seed)
