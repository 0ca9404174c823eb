"""Label-free embedding diagnostics: effective rank, alignment, uniformity, spectrum."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from maskfuse.config import Config, EvalConfig
from maskfuse.data.augment import AUGMENTATIONS
from maskfuse.evaluate.features import FeatureSet
from maskfuse.evaluate.protocol import protocol
from maskfuse.evaluate.rankme import rankme


def uniformity(z: torch.Tensor, t: float = 2.0) -> float:
    """log E[exp(-t |zi - zj|^2)] over pairs of L2-normalised rows (Wang & Isola, 2020).
    Lower is more uniform on the sphere; -4 is the limit for t = 2 in high dimension."""
    z = F.normalize(z.double(), dim=1)
    return float(torch.pdist(z).pow(2).mul(-t).exp().mean().log())


def alignment(a: torch.Tensor, b: torch.Tensor) -> float:
    """E[|f(x) - f(x+)|^2] between L2-normalised embeddings of two views (Wang & Isola, 2020)."""
    return float((F.normalize(a.double(), dim=1) - F.normalize(b.double(), dim=1)).pow(2).sum(1).mean())


def spectrum(z: torch.Tensor, top: int = 64) -> list[float]:
    """Eigenvalues of the covariance of L2-normalised rows, largest first, as shares of the total.
    With more columns than rows (raw voxels, pixels) they come from the rows' Gram matrix
    instead, which has the same non-zero eigenvalues and is N x N, not D x D."""
    x = F.normalize(z.double(), dim=1)
    x = x - x.mean(0)
    gram = x @ x.T if x.shape[1] > x.shape[0] else x.T @ x
    eig = torch.linalg.eigvalsh(gram / max(len(x) - 1, 1)).flip(0).clamp_min(0)
    eig = F.pad(eig, (0, x.shape[1] - len(eig)))  # the D - N zero eigenvalues the Gram matrix leaves out
    return (eig / eig.sum().clamp_min(1e-12))[:top].tolist()


@protocol("diagnostics", headline="rankme", column="RankMe", percent=False, needs_labels=False)
def evaluate_diagnostics(fs: FeatureSet, cfg: EvalConfig) -> dict[str, Any]:
    rows = cfg.diagnostics_rows
    out: dict[str, Any] = {
        "rankme": rankme(fs.train[:10000]),
        "dim": int(fs.train.shape[1]),
        "uniformity": uniformity(fs.test[:rows]),
        "mean_feature_std": float(fs.train.std(0).mean()),
        "spectrum": spectrum(fs.train[:10000]),
    }
    modality = fs.splits.spec.modality
    if modality in AUGMENTATIONS:
        views = AUGMENTATIONS.get(modality)(Config(), fs.splits.spec)
        x = fs.splits.test.inputs[:rows]
        with torch.random.fork_rng(), torch.no_grad():  # leaves the caller's RNG untouched
            torch.manual_seed(cfg.seed)
            out["alignment"] = alignment(fs.featurize(views(x)), fs.featurize(views(x)))
    return out
