"""The one entry convention every evaluation protocol follows, and its registration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maskfuse.config import EvalConfig
from maskfuse.evaluate.features import FeatureSet
from maskfuse.registry import EVALUATIONS

ProtocolFn = Callable[[FeatureSet, EvalConfig], dict[str, Any]]


@dataclass(frozen=True)
class Protocol:
    """A registered protocol: `run(features, cfg) -> {metric: value}`.

    Attributes:
        run: The protocol itself.
        headline: Key of the number the results table shows.
        column: Table column title.
        percent: Whether the headline is a share to print as a percentage.
        needs_labels: Skipped (and said so) on unlabeled data.
        needs_backbone: Skipped for the raw-input baseline.
    """

    run: ProtocolFn
    headline: str
    column: str
    percent: bool = True
    needs_labels: bool = True
    needs_backbone: bool = False

    def applies(self, features: FeatureSet) -> str | None:
        """None if the protocol can run on `features`, else why not."""
        if self.needs_labels and not features.labeled:
            return "needs labels"
        if self.needs_backbone and features.backbone is None:
            return "needs an encoder"
        return None


def protocol(name: str, headline: str, column: str, **flags: bool) -> Callable[[ProtocolFn], ProtocolFn]:
    """Register `fn` as evaluation protocol `name`."""

    def add(fn: ProtocolFn) -> ProtocolFn:
        EVALUATIONS.register(name)(Protocol(fn, headline, column, **flags))
        return fn

    return add
