"""Linear probe: multinomial logistic regression on frozen, standardised features.

Fitted full-batch with L-BFGS in torch. The L2 strength is chosen on a validation
split carved from the training rows (all candidates fitted in one pass), then the
probe is refitted on all training rows and scored once on the test split. On two CPU
cores the whole grid takes half the time of one scikit-learn lbfgs fit
(benchmarks/linear_probe.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from maskfuse.config import EvalConfig
from maskfuse.evaluate.features import FeatureSet
from maskfuse.evaluate.protocol import protocol


@dataclass
class ProbeResult:
    accuracy: float
    weight_decay: float  # the chosen L2 strength
    val_accuracy: float  # its accuracy on the validation split


def fit_logistic(
    x: torch.Tensor, y: torch.Tensor, num_classes: int, weight_decays: tuple[float, ...], max_iter: int = 150
) -> tuple[torch.Tensor, torch.Tensor]:
    """One probe per L2 strength, fitted jointly: weights [G, D, K] and biases [G, K].

    Each probe minimises mean cross-entropy + weight_decay * |W|^2. The G problems are
    independent, so minimising their sum fits all of them; stacking them into one
    [D, G*K] matrix reads the features once per step instead of G times (DINOv2's
    trick of training a grid of linear heads in one pass). It runs where `x` lies (CPU or GPU).
    """
    g, d = len(weight_decays), x.shape[1]
    w = torch.zeros(d, g * num_classes, dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros(g * num_classes, dtype=x.dtype, device=x.device, requires_grad=True)
    decay = torch.tensor(weight_decays, dtype=x.dtype, device=x.device).repeat_interleave(num_classes)  # [G*K]
    opt = torch.optim.LBFGS(
        [w, b], lr=1.0, max_iter=max_iter, history_size=20, tolerance_grad=1e-7, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = (x @ w + b).view(len(x), g, num_classes).transpose(0, 1)  # [G, N, K]
        ce = F.cross_entropy(logits.reshape(-1, num_classes), y.repeat(g), reduction="sum") / len(x)
        loss = ce + (decay * w.pow(2).sum(0)).sum()
        loss.backward()
        return loss

    opt.step(closure)
    weights = w.detach().view(d, g, num_classes).permute(1, 0, 2)  # [G, D, K]
    return weights, b.detach().view(g, num_classes)


def _accuracy(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    return float(((x @ w + b).argmax(1) == y).float().mean())


def _standardise(train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x, xt = train.float(), test.float()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    return (x - mean) / std, (xt - mean) / std


def linear_probe(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    weight_decays: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2),
    val_fraction: float = 0.1,
    seed: int = 0,
) -> ProbeResult:
    """Test accuracy of the logistic-regression probe whose L2 strength won on validation."""
    x, xt = _standardise(train, test)
    k = int(max(train_labels.max(), test_labels.max())) + 1
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(len(x) * val_fraction))
    val, fit = perm[:n_val], perm[n_val:]
    ws, bs = fit_logistic(x[fit], train_labels[fit], k, weight_decays)
    scores = [_accuracy(w, b, x[val], train_labels[val]) for w, b in zip(ws, bs)]
    best = max(range(len(scores)), key=lambda i: (scores[i], weight_decays[i]))
    ws, bs = fit_logistic(x, train_labels, k, (weight_decays[best],))
    return ProbeResult(_accuracy(ws[0], bs[0], xt, test_labels), weight_decays[best], scores[best])


@protocol("linear", headline="top1", column="linear probe")
def evaluate_linear(fs: FeatureSet, cfg: EvalConfig) -> dict[str, Any]:
    """The L2 grid for every pooling variant; the pooling whose best validation score is
    highest is the one reported (ties go to the first, the default pooling)."""
    results = {}
    for name, (train, test) in (fs.variants or {"pooled": (fs.train, fs.test)}).items():
        results[name] = linear_probe(train, fs.train_labels, test, fs.test_labels, cfg.probe_weight_decays)
    best = max(results, key=lambda n: results[n].val_accuracy)
    return {
        "top1": results[best].accuracy,
        "pooling": best,
        "weight_decay": results[best].weight_decay,
        "val_accuracy": {n: r.val_accuracy for n, r in results.items()},
        "test_accuracy": {n: r.accuracy for n, r in results.items()},
    }


@protocol("logreg", headline="top1", column="sklearn logreg")
def evaluate_sklearn_logreg(fs: FeatureSet, cfg: EvalConfig) -> dict[str, Any]:
    """scikit-learn's LogisticRegression (lbfgs, C = 1) on standardised pooled features: a
    reference implementation beside the torch probe."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x, xt = _standardise(fs.train, fs.test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=1.0, max_iter=1000).fit(x.numpy(), fs.train_labels.numpy())
    return {"top1": float((clf.predict(xt.numpy()) == fs.test_labels.numpy()).mean()), "C": 1.0}
