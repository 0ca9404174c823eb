"""An encoder that cannot tell inputs apart scores chance on every protocol.

Each registered protocol is run on a constant embedding; a new protocol must state its
chance level here before it can be registered. Labels are imbalanced and the training
rows sorted by class, the layout where a tie broken towards the first rows would help.
"""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from maskfuse.config import EvalConfig
from maskfuse.data.base import ArrayDataset, Splits
from maskfuse.data.paired import PairedDataset
from maskfuse.evaluate.crossmodal import all_retrieval, missing_robustness, retrieval, support_prototypes, zero_shot
from maskfuse.evaluate.features import FeatureSet
from maskfuse.evaluate.monitor import OnlineMonitor
from maskfuse.registry import EVALUATIONS
from maskfuse.types import DataSpec

TRAIN_Y = torch.tensor([0] * 40 + [1] * 30 + [2] * 30)  # sorted by class
TEST_Y = torch.tensor([0, 1, 2] * 5 + [2] * 15)[torch.randperm(30, generator=torch.Generator().manual_seed(0))]
MAJORITY = float(torch.bincount(TEST_Y).max()) / len(TEST_Y)  # 2/3: what always guessing class 2 scores
PERCENT = 100 * MAJORITY + 1e-4  # float32 percentages


class ConstantBackbone(nn.Module):
    """An encoder whose output ignores its input (a learned constant, so fine-tuning can move it)."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.ones(dim))
        self.encoder = nn.Module()
        self.encoder.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value.expand(len(x), -1) + 0 * x.flatten(1)[:, :1]


def constant_features() -> FeatureSet:
    g = torch.Generator().manual_seed(1)
    train = ArrayDataset(torch.rand(len(TRAIN_Y), 1, 8, 8, generator=g), TRAIN_Y)
    test = ArrayDataset(torch.rand(len(TEST_Y), 1, 8, 8, generator=g), TEST_Y)
    spec = DataSpec("image", (1, 8, 8), (0.5,), (0.3,), 3)
    backbone = ConstantBackbone()
    z_train, z_test = torch.ones(len(TRAIN_Y), 8), torch.ones(len(TEST_Y), 8)
    variants = {"mean": (z_train, z_test), "mean-last4": (z_train.repeat(1, 4), z_test.repeat(1, 4))}
    return FeatureSet(
        "constant", Splits(train, test, spec), lambda x: backbone(x).detach(), z_train, z_test, variants, backbone
    )


# per protocol: (the headline's bound for a constant embedding, what it means)
CHANCE = {
    "knn": MAJORITY,
    "linear": MAJORITY,
    "logreg": MAJORITY,
    "fewshot": MAJORITY,
    "finetune": MAJORITY,
    "kmeans": MAJORITY,
    "diagnostics": 1.01,  # RankMe of a rank-1 matrix
}


def test_every_protocol_states_its_chance_level():
    assert set(EVALUATIONS.names()) <= set(CHANCE), "add the new protocol's chance level to CHANCE"


@pytest.mark.parametrize("name", sorted(CHANCE))
def test_a_constant_embedding_scores_chance(name):
    proto = EVALUATIONS.get(name)
    cfg = EvalConfig(finetune_epochs=2, kmeans_restarts=1, fewshot_episodes=4)
    with warnings.catch_warnings():
        # scikit-learn's k-means warns that it found fewer distinct points than clusters
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        result = proto.run(constant_features(), cfg)
    assert result[proto.headline] <= CHANCE[name] + 1e-6, result
    if name == "kmeans":
        assert result["nmi"] == pytest.approx(0.0, abs=1e-9)
    if name == "diagnostics":
        assert result["uniformity"] == pytest.approx(0.0, abs=1e-9)  # the worst value: every row at one point


def test_collapsed_retrieval_ranks_every_match_last():
    n = 50
    z = torch.ones(n, 8) / 8**0.5
    out = retrieval(z, z, torch.arange(n) % 5)
    assert out["R@1"] == out["R@5"] == out["R@10"] == 0.0
    assert out["median_rank"] == n
    assert out["class_R@1"] == pytest.approx(20.0)  # every query gets row 0's class: 1 in 5
    nan = retrieval(torch.full((n, 8), float("nan")), z)
    assert nan["R@1"] == 0.0 and nan["median_rank"] == n


def test_retrieval_ties_count_against_the_query():
    # each query's match ties with the other key, so both rank second
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    out = retrieval(q, k)
    assert out["R@1"] == 0.0 and out["median_rank"] == 2.0
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    assert retrieval(q, k)["R@1"] == 100.0


def test_constant_shared_space_scores_chance_across_modalities():
    data = PairedDataset(
        {"a": torch.zeros(len(TEST_Y), 1), "b": torch.zeros(len(TEST_Y), 1)},
        torch.ones(len(TEST_Y), 2, dtype=torch.bool),
        TEST_Y,
    )
    z = {"a": F.normalize(torch.ones(len(TEST_Y), 4), dim=1), "b": F.normalize(torch.ones(len(TEST_Y), 4), dim=1)}
    for pair in all_retrieval(z, data).values():
        assert pair["R@1"] == 0.0 and pair["class_R@1"] <= PERCENT
    proto = support_prototypes(z["a"], TEST_Y, torch.arange(len(TEST_Y)), 3)
    assert zero_shot(z["b"], TEST_Y, proto) <= PERCENT
    train = {m: torch.ones(len(TRAIN_Y), 4) for m in z}
    for acc in missing_robustness(train, TRAIN_Y, {m: torch.ones(len(TEST_Y), 4) for m in z}, TEST_Y).values():
        assert acc <= PERCENT


def test_online_monitor_on_a_constant_encoder():
    fs = constant_features()
    monitor = OnlineMonitor(fs.splits, rows=100)
    stats = monitor(fs.backbone)
    assert stats["monitor/knn"] <= MAJORITY and stats["monitor/collapse"]
    assert stats["monitor/rankme"] < 1.01
