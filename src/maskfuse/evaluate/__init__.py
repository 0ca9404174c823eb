"""Evaluation protocols over frozen embeddings, each registered under one entry convention
(`maskfuse.evaluate.protocol`), and the run-level evaluation with baselines (`suite`)."""

from maskfuse.evaluate.knn import knn_accuracy
from maskfuse.evaluate.linear import linear_probe
from maskfuse.evaluate.rankme import rankme
from maskfuse.registry import import_all

import_all(__name__, __path__)  # every module registers what it defines

__all__ = ["knn_accuracy", "linear_probe", "rankme"]
