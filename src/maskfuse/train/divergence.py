"""A loss that climbs far above where the run began warns once, before it turns NaN."""

from __future__ import annotations

import statistics


class DivergenceWatch:
    """Takes the median of the first `early` losses of a session (one per step) and
    returns a warning, once, for the first later loss above `factor` times it. A loss
    that only turns NaN later is stopped by train_step; this says so while the last good
    checkpoint is still recent. Losses that start at or below zero (some feature and
    cosine objectives) are not watched: a ratio to them means nothing."""

    def __init__(self, factor: float = 100.0, early: int = 20) -> None:
        self.factor, self.early = factor, early
        self.seen: list[float] = []
        self.median: float | None = None  # set once the early losses are in
        self.warned = False

    def check(self, step: int, loss: float) -> str | None:
        if self.median is None:
            self.seen.append(loss)
            if len(self.seen) == self.early:
                self.median = statistics.median(self.seen)
            return None
        if self.warned or self.median <= 0 or not loss > self.factor * self.median:
            return None
        self.warned = True
        return (
            f"loss {loss:.4g} at step {step} is {loss / self.median:.0f}x its early median {self.median:.4g}: "
            "the run may be diverging (a lower train.lr or train.grad_clip helps)"
        )
