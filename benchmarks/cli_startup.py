"""How fast the command line answers, against the interpreter's own start-up, in one invocation.

Usage:
    .venv/bin/python benchmarks/cli_startup.py [--rounds 7] [--out benchmarks/results/cli_startup.json]

Each side is a fresh process, run in turn round by round, timed from spawn to exit:
- python: `python -c pass`, the floor no command can beat;
- import torch: `python -c "import torch"`, what every command paid before start-up was made lazy;
- maskfuse --help, maskfuse recipes, maskfuse config show train: the commands issue 24 asks to
  answer in under 1 s on 2 cores.
The JSON holds every time, the median per side, and each median as a ratio to the python floor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable
SIDES = {
    "python": [PY, "-c", "pass"],
    "import torch": [PY, "-c", "import torch"],
    "maskfuse --help": [PY, "-m", "maskfuse", "--help"],
    "maskfuse recipes": [PY, "-m", "maskfuse", "recipes"],
    "maskfuse config show train": [PY, "-m", "maskfuse", "config", "show", "train"],
}


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default="benchmarks/results/cli_startup.json")
    args = ap.parse_args()
    for cmd in SIDES.values():  # warm the file cache once, so round 1 is not a disk benchmark
        timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in SIDES}
    for _ in range(args.rounds):
        for name, cmd in SIDES.items():
            times[name].append(timed(cmd))
    median = {name: statistics.median(t) for name, t in times.items()}
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "rounds": args.rounds,
        "seconds": times,
        "median_s": median,
        "ratio_to_python": {name: m / median["python"] for name, m in median.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    for name, m in median.items():
        print(f"{name:28s} {m * 1000:7.0f} ms  {m / median['python']:5.1f}x python")


if __name__ == "__main__":
    main()
