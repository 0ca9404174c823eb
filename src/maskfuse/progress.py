"""Progress of the long steps outside the training loop (reading data, the evaluation protocols,
embed, shard, the report's figures): a rich bar on a terminal; off one (logs, CI, a pipe),
a plain line at most every `PLAIN_EVERY_S` seconds with the count, elapsed time and an ETA, and
a last line with the total time when the step took `SAY_AFTER_S` or more. Training has its
own bar (train/progress.py), with the loss and the online monitors beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

PLAIN_EVERY_S = 10.0
SAY_AFTER_S = 2.0  # quicker steps pass without a line
_console = Console(stderr=True)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


@contextmanager
def progress(title: str, total: int, console: Console | None = None) -> Iterator[Callable[..., None]]:
    """`with progress("evaluating", 15) as advance: ... advance(what="knn on pretrained")`."""
    console = console or _console
    started = time.perf_counter()
    if console.is_terminal:
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn())  # fmt: skip
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(escape(title), total=total)

            def advance(n: int = 1, what: str = "") -> None:
                bar.update(task, advance=n, description=escape(f"{title}: {what}" if what else title))

            yield advance
    else:
        state = {"done": 0, "said": started}

        def advance(n: int = 1, what: str = "") -> None:
            state["done"] += n
            now = time.perf_counter()
            if now - state["said"] >= PLAIN_EVERY_S and state["done"] < total:
                state["said"] = now
                left = (total - state["done"]) * (now - started) / state["done"]
                doing = f" ({what})" if what else ""
                line = f"{title}: {state['done']}/{total}{doing}, {_clock(now - started)}, ETA {_clock(left)}"
                console.print(escape(line), highlight=False)

        yield advance
    took = time.perf_counter() - started
    if took >= SAY_AFTER_S:
        console.print(escape(f"{title}: done in {_clock(took)}"), highlight=False)
