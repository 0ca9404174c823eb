"""Evaluation protocols over frozen embeddings, and the run-level evaluation with baselines."""

from maskfuse.evaluate.knn import knn_accuracy
from maskfuse.evaluate.linear import linear_probe
from maskfuse.evaluate.rankme import rankme

__all__ = ["knn_accuracy", "linear_probe", "rankme"]
