"""`maskfuse sweep`: a grid of runs, one folder each, then one page comparing them.

    maskfuse sweep --recipe mae mask.ratio=0.6,0.75,0.9 train.lr=1e-3,3e-3 --out runs/ratio-lr

A setting with several comma-separated values is an axis of the grid; one with a single value
applies to every run. Commas inside brackets or quotes stay in the value
(`augment.crop_scale=[0.08,1.0],[0.35,1.0]` is two values). Every combination's config is
resolved before anything runs, so a typo fails at once. Each run is its own `maskfuse
pretrain` and `maskfuse evaluate` process (a failing run does not stop the others; its log
says why), `--jobs N` runs N at a time with the CPU threads split between them, and running
the same sweep again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from maskfuse.config import resolve
from maskfuse.errors import ConfigError

UNSAFE = re.compile(r"[^\w.+-]+")  # what a run folder's name leaves out of a value


@dataclass
class Trial:
    name: str  # folder name, from the varied settings
    overrides: list[str]  # the varied settings of this run
    status: str = "pending"  # done | skipped (done before) | failed (exit N)
    seconds: float = 0.0
    headline: dict[str, float] = field(default_factory=dict)


def split_values(text: str) -> list[str]:
    """'a,b,[1,2]' -> ['a', 'b', '[1,2]']: commas inside brackets, braces or quotes stay."""
    values, depth, quote, current = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[({":
            depth += 1
        elif ch in "])}":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append(current)
            current = ""
            continue
        current += ch
    values.append(current)
    return values


def grid(settings: list[str]) -> tuple[list[str], list[Trial]]:
    """(overrides every run shares, one Trial per combination of the varied settings)."""
    fixed, axes = [], []
    for text in settings:
        if "=" not in text:
            raise ConfigError(f"sweep setting '{text}' is not of the form section.key=value[,value...]")
        key, raw = text.split("=", 1)
        values = split_values(raw)
        if len(values) == 1:
            fixed.append(text)
        else:
            axes.append([f"{key}={v}" for v in values])
    if not axes:
        raise ConfigError("nothing to sweep: give at least one setting with several values, e.g. mask.ratio=0.5,0.75")
    trials, seen = [], set()
    for combo in itertools.product(*axes):
        parts = [o.split("=", 1) for o in combo]  # ratio=0.5, crop_scale=0.08-1.0
        name = "_".join(f"{k.split('.')[-1]}={UNSAFE.sub('-', v).strip('-')}" for k, v in parts)
        name = name if name not in seen else f"{name}_{len(seen)}"
        seen.add(name)
        trials.append(Trial(name, list(combo)))
    return fixed, trials


def maskfuse_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "maskfuse", *args]


def finished(run: Path) -> bool:
    """A run whose eval.json scores the step its schedule ends at: nothing left to do."""
    try:
        train = yaml.safe_load((run / "config.yaml").read_text())["train"]
        report = json.loads((run / "eval.json").read_text())
        last = min(train["steps"], train.get("stop_after") or train["steps"])
        return report["step"] == last
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
        return False


def run_trial(trial: Trial, out: Path, base: list[str], threads: int | None) -> Trial:
    run, log = out / trial.name, out / "logs" / f"{trial.name}.log"
    if finished(run):
        trial.status = "skipped (done before)"
    else:
        started = time.perf_counter()
        if (run / "checkpoints").is_dir() and any((run / "checkpoints").iterdir()):
            train = maskfuse_command("pretrain", "--resume", str(run))
        else:
            train = maskfuse_command("pretrain", "--out", str(run), *base, *trial.overrides, "train.progress=false")
        if threads:
            train.append(f"train.threads={threads}")
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)} if threads else None
        with open(log, "a") as sink:
            code = subprocess.run(train, stdout=sink, stderr=subprocess.STDOUT, env=env).returncode
            if code == 0:
                code = subprocess.run(maskfuse_command("evaluate", str(run)), stdout=sink, stderr=subprocess.STDOUT,
                                      env=env).returncode  # fmt: skip
        trial.seconds = time.perf_counter() - started
        trial.status = "done" if code == 0 else f"failed (exit {code}; see {log})"
    if not trial.status.startswith("failed"):
        results = json.loads((run / "eval.json").read_text())["results"].get("pretrained", {})
        trial.headline = {k: v["top1"] for k, v in results.items() if isinstance(v, dict) and "top1" in v}
    return trial


def sweep(recipe: str, data: str | None, settings: list[str], out: Path, jobs: int = 1, report=print) -> list[Trial]:
    """Run the grid into `out` (one folder per combination, logs in out/logs), write
    out/sweep.json and, when two or more runs finished, out/compare.html."""
    fixed, trials = grid(settings)
    for trial in trials:  # a typo or a bad value fails before any run starts, naming the combination
        try:
            resolve(recipe, fixed + trial.overrides)
        except ConfigError as err:
            raise ConfigError(f"sweep run {trial.name}: {err}") from None
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs}: expected 1 or more")
    (out / "logs").mkdir(parents=True, exist_ok=True)
    base = ["--recipe", recipe, *(["--data", data] if data else []), *fixed]
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    report(f"sweep: {len(trials)} runs into {out}, {jobs} at a time" + (f", {threads} threads each" if threads else ""))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for i, trial in enumerate(pool.map(lambda t: run_trial(t, out, base, threads), trials), 1):
            scores = "  ".join(f"{k} {100 * v:.1f} %" for k, v in trial.headline.items())
            report(f"[{i}/{len(trials)}] {trial.name}: {trial.status}, {trial.seconds:.0f} s  {scores}".rstrip())
    summary = {"recipe": recipe, "data": data, "fixed": fixed, "runs": [vars(t) for t in trials]}
    (out / "sweep.json").write_text(json.dumps(summary, indent=1) + "\n")
    done = [out / t.name for t in trials if not t.status.startswith("failed")]
    if len(done) >= 2:
        from maskfuse.report.compare import build_compare

        report(f"comparison: {build_compare(done, out / 'compare.html')}")
    return trials
