"""Evaluation protocols over frozen embeddings, each registered under one entry convention
(`maskfuse.evaluate.protocol`), and the run-level evaluation with baselines (`suite`)."""

from maskfuse.evaluate import diagnostics, fewshot, finetune, kmeans, knn, linear  # noqa: F401  (registers)
from maskfuse.evaluate.knn import knn_accuracy
from maskfuse.evaluate.linear import linear_probe
from maskfuse.evaluate.rankme import rankme

__all__ = ["knn_accuracy", "linear_probe", "rankme"]
