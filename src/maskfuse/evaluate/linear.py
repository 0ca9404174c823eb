"""Linear probe: multinomial logistic regression on frozen, standardised features."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def linear_probe(
    train: np.ndarray,
    train_labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    c: float = 1.0,
    max_iter: int = 1000,
) -> float:
    """Test accuracy of an L2-regularised logistic regression fitted on train features.

    scikit-learn's lbfgs solver is used on purpose: it is exact and well tested, and
    on the sizes this library targets on a CPU (up to ~60k x 768) it takes seconds.
    Features are standardised with the training split's statistics.
    """
    scaler = StandardScaler().fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=c, max_iter=max_iter).fit(scaler.transform(train), train_labels)
    return float((clf.predict(scaler.transform(test)) == test_labels).mean())
