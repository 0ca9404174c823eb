import numpy as np
import pytest
import torch

from maskfuse.evaluate import knn_accuracy, linear_probe, rankme
from maskfuse.evaluate.knn import knn_predict_grid
from maskfuse.evaluate.linear import fit_logistic


def _clusters(n_per=30, classes=4, dim=8, spread=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.eye(dim)[:classes] * 3
    x = torch.cat([c + spread * torch.randn(n_per, dim, generator=g) for c in centers])
    y = torch.arange(classes).repeat_interleave(n_per)
    return x, y


def test_knn_separable_clusters_is_perfect():
    x, y = _clusters()
    xt, yt = _clusters(seed=1)
    assert knn_accuracy(x, y, xt, yt, k=5) == 1.0


def test_knn_matches_naive_weighted_vote():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 6, generator=g), torch.randint(0, 3, (40,), generator=g)
    q = torch.randn(9, 6, generator=g)
    pred = knn_predict_grid(x, y, q, (3, 7), temperature=0.1, chunk=4)[7]
    xn = x / x.norm(dim=1, keepdim=True)
    for i in range(9):
        qi = q[i] / q[i].norm()
        sims = [(float(xn[j] @ qi), int(y[j])) for j in range(40)]
        votes = [0.0, 0.0, 0.0]
        for s, label in sorted(sims, reverse=True)[:7]:
            votes[label] += float(np.exp(s / 0.1))
        assert int(pred[i]) == int(np.argmax(votes))


def test_linear_probe_on_separable_and_shuffled_labels():
    x, y = _clusters(spread=0.3)
    xt, yt = _clusters(spread=0.3, seed=2)
    assert linear_probe(x, y, xt, yt).accuracy == 1.0
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(400, 8, generator=g)
    labels = torch.randint(0, 4, (400,), generator=g)
    assert linear_probe(noise[:300], labels[:300], noise[300:], labels[300:]).accuracy < 0.45  # chance 0.25


def test_logistic_fit_matches_scikit_learn():
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    x, y = load_wine(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    c = 0.5
    ref = LogisticRegression(C=c, max_iter=5000, tol=1e-10).fit(x, y)
    # scikit-learn minimises C * sum(CE) + |W|^2 / 2, i.e. mean(CE) + |W|^2 / (2 C N)
    ws, bs = fit_logistic(torch.tensor(x), torch.tensor(y), 3, (1 / (2 * c * len(x)),), max_iter=500)
    assert np.allclose(ws[0].numpy(), ref.coef_.T, atol=2e-3)
    assert np.allclose(bs[0].numpy() - bs[0].numpy().mean(), ref.intercept_ - ref.intercept_.mean(), atol=2e-3)


def test_grid_fit_equals_separate_fits():
    x, y = _clusters(spread=1.5)
    grid, _ = fit_logistic(x.double(), y, 4, (1e-3, 1e-1), max_iter=300)
    alone, _ = fit_logistic(x.double(), y, 4, (1e-1,), max_iter=300)
    assert torch.allclose(grid[1], alone[0], atol=1e-4)


def test_rankme_known_values():
    assert rankme(torch.eye(16)) == pytest.approx(16.0, rel=1e-4)
    one = torch.randn(50, 1) @ torch.randn(1, 10)
    assert rankme(one) == pytest.approx(1.0, abs=0.01)
    s = torch.tensor([3.0, 1.0])  # singular values 3 and 1: p = (.75, .25)
    expected = float(np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25))))
    assert rankme(torch.diag(s)) == pytest.approx(expected, rel=1e-5)


def test_knn_headline_k_is_capped_by_the_smallest_class():
    from maskfuse.config import EvalConfig
    from maskfuse.data.base import ArrayDataset, Splits
    from maskfuse.evaluate.features import FeatureSet
    from maskfuse.evaluate.knn import evaluate_knn
    from maskfuse.types import DataSpec

    # class 1 has 5 training rows: with k = 20 its 5 neighbours are outvoted by class 0's 15
    labels = torch.tensor([0] * 40 + [1] * 5)
    train = torch.cat([torch.randn(40, 4) * 0.1 + torch.tensor([1.0, 0, 0, 0]), torch.randn(5, 4) * 0.1 + 0.3])
    test_labels = torch.tensor([0] * 5 + [1] * 5)
    test = torch.cat([torch.randn(5, 4) * 0.1 + torch.tensor([1.0, 0, 0, 0]), torch.randn(5, 4) * 0.1 + 0.3])
    splits = Splits(ArrayDataset(train, labels), ArrayDataset(test, test_labels), DataSpec("image", (4,), (0,), (1,)))
    fs = FeatureSet("x", splits, lambda x: x, train, test)
    out = evaluate_knn(fs, EvalConfig(knn_k=20, knn_temperature=1.0))
    assert out["k"] == 5 and out["k_capped"] and out["top1"] == 1.0
    assert out["k=20"] < 1.0  # what the uncapped headline would have said
