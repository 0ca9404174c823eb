"""What a run tells the user while it trains: a rich progress bar and metrics.jsonl."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from maskfuse.errors import ConfigError


class MetricsLog:
    """Append-only JSON lines, one per logged step; the source of truth for curves.

    On resume, lines past the resumed step are dropped so the file never holds a step
    twice. Every numeric value is mirrored to the `trackers` (train.trackers) the caller opened.
    """

    def __init__(self, path: Path, resume_step: int = 0, trackers: list | None = None, off: bool = False) -> None:
        self.path, self.off = path, off  # off: a non-main rank, which writes nothing
        self._file, self.trackers = None, trackers or []
        if off:
            return
        if path.exists():
            records, torn = read_records(path)
            kept = [json.dumps(r) for r in records if r["step"] <= resume_step]
            if torn:
                Console(stderr=True).print(f"note: {path}: {torn}; dropped", highlight=False)
            path.write_text("".join(ln + "\n" for ln in kept))
        self._file = open(path, "a")  # noqa: SIM115  (held open for the run; closed by close())

    def write(self, record: dict[str, Any]) -> None:
        if self.off:
            return
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        scalars = {k: float(v) for k, v in record.items() if k != "step" and isinstance(v, (int, float))}
        for tracker in self.trackers:
            tracker.log(scalars, record["step"])

    def close(self) -> None:
        if self.off:
            return
        self._file.close()
        for tracker in self.trackers:
            tracker.close()


def read_records(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The records of a metrics.jsonl and, when its last line was cut off (a killed run
    writing it), a note that says so; a bad line elsewhere is an error naming it."""
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    records, torn = [], ""
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "step" not in record:
                raise ValueError("no step")
        except ValueError as err:
            if number < len(lines):
                raise ConfigError(f"{path}, line {number}: not a metrics record ({err})") from None
            torn = f"line {number} was cut off (the run was killed while writing it)"
            break
        records.append(record)
    return records, torn


class TrainProgress:
    """Progress bar with loss, samples/s and ETA; a plain line per log step off a terminal."""

    def __init__(self, total: int | None, start: int, enabled: bool, title: str) -> None:
        self.console = Console(stderr=True)
        self.live = enabled and self.console.is_terminal
        self.enabled = enabled
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[rate]} samples/s"),
            TextColumn("{task.fields[monitor]}"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.task = self.bar.add_task(title, total=total, completed=start, loss="-", rate="-", monitor="")
        self._t0, self._seen, self._first, self._monitor_text = time.perf_counter(), 0, start, ""
        self.resize(total)

    def resize(self, total: int | None) -> None:
        """Set the step count (None: not known yet, while a budget is being sized)."""
        self.total = total
        self.bar.update(self.task, total=total)
        self._plain_every = max(1, total // 20) if total else 10  # off a terminal: about 20 lines per run

    def __enter__(self) -> TrainProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def monitor(self, stats: dict, step: int) -> None:
        """Show the online monitors; warn, on any console, when the embedding collapses."""
        text = f"rankme {stats['monitor/rankme']:.1f}"
        if "monitor/knn" in stats:
            text += f"  knn {100 * stats['monitor/knn']:.1f}%"
        self.bar.update(self.task, monitor=text)
        self._monitor_text = f"  {text}"
        if stats.get("monitor/collapse"):
            self.console.print(
                f"[bold yellow]warning:[/] step {step}: the embedding looks collapsed ({text}); "
                "check train.lr, the augmentations or contrastive.temperature",
                highlight=False,
            )

    def samples_per_s(self, batch: int) -> float:
        self._seen += batch
        return self._seen / max(time.perf_counter() - self._t0, 1e-9)

    def update(self, step: int, loss: float, rate: float) -> None:
        self.bar.update(self.task, completed=step, loss=f"{loss:.4f}", rate=f"{rate:,.0f}")
        if self.enabled and not self.live and (step % self._plain_every == 0 or step == self.total):
            of = self.total or "?"
            eta = self._eta(step)
            line = f"step {step}/{of}  loss {loss:.4f}  {rate:,.0f} samples/s{self._monitor_text}{eta}"
            self.console.print(line, highlight=False)

    def _eta(self, step: int) -> str:
        """'  ETA 3m05s' off a terminal, from this session's mean step time."""
        done = step - self._first
        if not self.total or done <= 0:
            return ""
        left = (self.total - step) * self.elapsed() / done
        return f"  ETA {int(left // 60)}m{int(left % 60):02d}s"
