import math

import numpy as np
import pytest
import torch

from maskfuse.config import EvalConfig
from maskfuse.data.base import image_splits
from maskfuse.evaluate.alignment import linear_cka, mutual_knn
from maskfuse.evaluate.diagnostics import alignment, spectrum, uniformity
from maskfuse.evaluate.features import FeatureSet
from maskfuse.evaluate.fewshot import prototype_accuracy
from maskfuse.evaluate.kmeans import cluster_scores, matched_accuracy
from maskfuse.evaluate.knn import knn_predict, knn_predict_grid
from maskfuse.evaluate.linear import evaluate_linear
from tests.evaluate.test_protocols import _clusters


def test_knn_grid_equals_separate_searches():
    g = torch.Generator().manual_seed(1)
    x, y, q = torch.randn(60, 5, generator=g), torch.randint(0, 4, (60,), generator=g), torch.randn(20, 5, generator=g)
    grid = knn_predict_grid(x, y, q, (1, 4, 9, 200))
    for k in (1, 4, 9):
        assert torch.equal(grid[k], knn_predict_grid(x, y, q, (k,))[k])
    assert torch.equal(grid[200], knn_predict(x, y, q, k=60))  # k beyond N uses all rows
    assert torch.equal(knn_predict(x, y, x, k=1), y)  # each row is its own nearest neighbour


def test_kmeans_on_separable_clusters_and_label_permutation():
    x, y = _clusters(n_per=25, classes=4)
    scores = cluster_scores(x, y)
    assert scores == {"accuracy": 1.0, "nmi": pytest.approx(1.0), "ari": pytest.approx(1.0)}
    labels = np.array([0, 0, 1, 1, 2, 2])
    clusters = np.array([2, 2, 0, 0, 1, 0])
    assert matched_accuracy(labels, clusters) == pytest.approx(5 / 6)
    permuted = np.array([5, 3, 4])[labels]  # relabelling the classes changes nothing
    assert matched_accuracy(permuted, clusters) == matched_accuracy(labels, clusters)


def test_fewshot_prototypes():
    x, y = _clusters(spread=0.1)
    xt, yt = _clusters(spread=0.1, seed=3)
    assert prototype_accuracy(x, y, xt, yt, shots=1, episodes=5) == 1.0
    noise = torch.randn(200, 6)
    labels = torch.arange(200) % 4
    assert prototype_accuracy(noise[:100], labels[:100], noise[100:], labels[100:], 5, 10) < 0.45


def test_uniformity_alignment_spectrum_values():
    e = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert uniformity(e) == pytest.approx(-8.0)  # one pair at squared distance 4: log exp(-8)
    a = torch.randn(10, 4)
    assert alignment(a, 3 * a) == pytest.approx(0.0, abs=1e-12)
    assert alignment(a, -a) == pytest.approx(4.0)
    s = spectrum(torch.randn(500, 8))
    assert sum(s) == pytest.approx(1.0) and all(u >= v for u, v in zip(s, s[1:]))
    line = torch.randn(100, 1) @ torch.ones(1, 6)  # normalised rows are +-v: one direction
    assert spectrum(line)[0] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("rows,cols", [(40, 12), (12, 40), (12, 90)])
def test_spectrum_matches_the_covariance_eigenvalues_tall_or_wide(rows, cols):
    """Wide inputs (raw voxels: 27,000 columns) use the N x N Gram matrix; the values and
    the list's length stay those of the D x D covariance."""
    z = torch.randn(rows, cols)
    x = torch.nn.functional.normalize(z.double(), dim=1)
    eig = torch.linalg.eigvalsh(torch.cov(x.T)).flip(0).clamp_min(0)
    expected = (eig / eig.sum())[:64].tolist()
    assert spectrum(z) == pytest.approx(expected, abs=1e-9)


def test_cka_and_mutual_knn():
    x = torch.randn(200, 16)
    q, _ = torch.linalg.qr(torch.randn(16, 16))
    assert linear_cka(x, 3 * x @ q) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, torch.randn(200, 16)) < 0.2
    assert mutual_knn(x, x, 10) == 1.0
    chance = mutual_knn(x, torch.randn(200, 16), 10)
    assert chance < 0.15  # chance is k / (N - 1) = 0.05
    with pytest.raises(ValueError, match="same rows"):
        linear_cka(x, x[:10])


def test_linear_protocol_picks_the_informative_pooling():
    x, y = _clusters(n_per=40, spread=0.5)
    xt, yt = _clusters(n_per=40, spread=0.5, seed=5)
    imgs = np.zeros((len(x), 1, 2, 2), np.float32)
    splits = image_splits(imgs, y.numpy(), np.zeros((len(xt), 1, 2, 2), np.float32), yt.numpy(), "t")
    noise = (torch.randn(len(x), 8), torch.randn(len(xt), 8))
    fs = FeatureSet("f", splits, lambda v: v, noise[0], noise[1], {"noise": noise, "signal": (x, xt)})
    out = evaluate_linear(fs, EvalConfig())
    assert out["pooling"] == "signal" and out["top1"] == 1.0
    assert out["test_accuracy"]["noise"] < 0.5
    assert not math.isnan(out["val_accuracy"]["noise"])


def test_knn_protocol_picks_its_pooling_on_training_rows_only():
    from maskfuse.evaluate.knn import evaluate_knn

    x, y = _clusters(n_per=40, spread=0.5)
    xt, yt = _clusters(n_per=40, spread=0.5, seed=5)
    imgs = np.zeros((len(x), 1, 2, 2), np.float32)
    splits = image_splits(imgs, y.numpy(), np.zeros((len(xt), 1, 2, 2), np.float32), yt.numpy(), "t")
    noise = (torch.randn(len(x), 8), torch.randn(len(xt), 8))
    fs = FeatureSet("f", splits, lambda v: v, noise[0], noise[1], {"noise": noise, "signal": (x, xt)})
    out = evaluate_knn(fs, EvalConfig())
    assert out["pooling"] == "signal" and out["top1"] == 1.0 and out["val_accuracy"]["noise"] < 0.6
    # the choice reads training rows only: a test split that only the noise pooling fits changes nothing
    cheat = FeatureSet("f", splits, lambda v: v, noise[0], noise[1], {"noise": (noise[0], x[: len(xt)] * 0),
                                                                     "signal": (x, xt)})  # fmt: skip
    assert evaluate_knn(cheat, EvalConfig())["pooling"] == "signal"


def test_grid_means_against_a_naive_loop():
    from maskfuse.evaluate.features import grid_means

    g = torch.Generator().manual_seed(0)
    tokens = torch.randn(2, 5 * 4, 3, generator=g)  # a 5 x 4 grid
    valid = torch.rand(2, 20, generator=g) > 0.2
    out = grid_means(tokens, valid, (5, 4))
    for b in range(2):
        cells = []
        for corner in range(4):
            rows = range(0, 3) if corner & 1 == 0 else range(3, 5)  # the first half of 5 rows is 3
            cols = range(0, 2) if corner & 2 == 0 else range(2, 4)
            picked = [tokens[b, r * 4 + c] for r in rows for c in cols if valid[b, r * 4 + c]]
            cells.append(torch.stack(picked).mean(0) if picked else torch.zeros(3))
        torch.testing.assert_close(out[b], torch.cat(cells))
