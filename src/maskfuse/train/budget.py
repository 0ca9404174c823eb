"""Wall-clock budgets: `train.budget=15m` sizes the schedule from the run's own step times.

A user knows how long they can wait, not how many steps fit in that time on their
machine. With a budget the run starts as usual (warm-up does not depend on the total),
times its steps 10 to 30 of this session and one online monitor, and then fixes
`train.steps` so that the whole run (data loading, steps, monitors) ends at the budget.
The fixed count is written into the run's config, so a resumed run keeps its schedule.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from maskfuse.config import Config
from maskfuse.errors import ConfigError

SIZE_FROM, SIZE_AT = 10, 30  # the steps timed (the first ones carry start-up costs)
UNSIZED = 2**62  # train.steps while the budget has not been turned into steps yet

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def clock() -> float:
    """The clock budgets are measured on (one place, so tests can replace it)."""
    return time.perf_counter()


def parse_budget(text: str) -> float:
    """Seconds in a budget such as "900", "90s", "15m", "1h", "1h30m" or "2.5h"."""
    parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)\s*([smh])\s*)+|\s*(\d+(?:\.\d+)?)\s*", str(text))
    if parts is None:
        raise ConfigError(f"train.budget={text!r}: expected a duration such as 900, 90s, 15m, 1h or 1h30m")
    if parts.group(3) is not None:
        seconds = float(parts.group(3))
    else:
        seconds = sum(float(n) * UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)\s*([smh])", text))
    if seconds <= 0:
        raise ConfigError(f"train.budget={text!r}: a budget must be longer than zero")
    return seconds


@dataclass
class BudgetSizing:
    """Turns a budget into a step count, from the time this session's steps take.

    The count is first set at this session's step 30, from the mean time of its steps
    10-30 plus each monitor's time spread over its period. The first steps run slower
    than the rest (allocator and thread warm-up: 2,236 against 3,364 samples/s on
    digits here), and a machine shared with other work changes speed as it goes (a run
    sized at 2,000 samples/s fell to 500 while tests ran beside it), so the count is set
    again every tenth of the run, until 90 % of it, from the mean step time since the
    first count (monitors and checkpoints included). The mean over all those steps, not
    over the last tenth alone, keeps a passing slowdown from cutting the schedule short:
    with the last tenth, two minutes of other work beside a 15-minute run sized it from
    7,037 steps down to 1,747 and back to 5,187 (simulated, the mean since the first count
    dips to 3,800 and ends at 5,618 of 5,700). Damping each change was tried: a lasting
    slowdown then overran a 600 s budget by 79 %, so the count follows the mean as it is.

    Attributes:
        seconds: The budget.
        began: `clock()` when the run began (data loading included).
        first: The first step this session runs (a resumed run times its own steps).
        monitor_every: Online monitor period in steps (0: none).
    """

    seconds: float
    began: float
    first: int
    monitor_every: int
    finished: bool = field(default=False, init=False)
    _mark: float | None = field(default=None, init=False)
    _since: tuple[int, float] | None = field(default=None, init=False)  # (step, time) of the first sizing
    _at: int = field(default=0, init=False)  # the step of the next sizing

    def wants_monitor(self, done: int) -> bool:
        """Whether step `done` is the first sizing, where a monitor is timed too."""
        return self._since is None and done == self.first + SIZE_AT

    def steps(self, done: int, monitor_seconds: float = 0.0) -> int | None:
        """A new total step count when one is due at step `done`, else None; after the last
        one, `finished` is set. Before the first count, a spent budget stops the run."""
        now = clock()
        spent = now - self.began
        if self._since is None:
            if done == self.first + SIZE_FROM:
                self._mark = now
            if spent >= self.seconds:
                self.finished = True
                return done
            if done < self.first + SIZE_AT:
                return None
            per_step = (now - self._mark) / (SIZE_AT - SIZE_FROM)
            if self.monitor_every > 0:
                per_step += monitor_seconds / self.monitor_every
            self._since = (done, now)
            return self._plan(done, done + int((self.seconds - spent) / per_step))
        if done < self._at:
            return None
        per_step = (now - self._since[1]) / (done - self._since[0])
        return self._plan(done, done + max(int((self.seconds - spent) / per_step), 0))

    def _plan(self, done: int, total: int) -> int:
        """`total`, noting where the next count is due: a tenth of the run later, unless
        that passes 90 % of it (then this count was the last)."""
        self._at = done + max(SIZE_AT, total // 10)
        self.finished = self._at > 0.9 * total
        return total


def budget_sizing(cfg: Config, resume: bool, start: int, began: float) -> BudgetSizing | None:
    """The sizing of train.steps from train.budget: for a fresh run with a budget, and for
    a resumed one that stopped before its steps were sized (train.steps is UNSIZED until then)."""
    if cfg.train.budget is None:
        return None
    seconds = parse_budget(cfg.train.budget)
    if not resume:
        cfg.train.steps = UNSIZED
    if cfg.train.steps != UNSIZED:
        return None
    return BudgetSizing(seconds, began, start, cfg.train.monitor_every)
