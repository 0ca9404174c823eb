"""Loading a CSV table: seconds and peak memory, against pandas.

Usage:
    .venv/bin/python benchmarks/table_load.py [--rows 20000] [--out benchmarks/results/table_load.json]

The table is real data: the first `--rows` Fashion-MNIST training images as a CSV of
784 integer pixel columns and a label (`apt-get install dataset-fashion-mnist`). Each
side loads it in a fresh process, which reports its wall time and its peak RSS above
the RSS it had after its imports (Linux: the peak is restarted through /proc/self/clear_refs,
since a child inherits its parent's):
- maskfuse: `data.name=table`, held in memory (the default data.memory_mb=1024);
- maskfuse by row: the same with data.memory_mb=0, the encoded table in a temporary file;
- cells held: `columns.read_columns`, every cell a Python object, which is how the
  table source read a file before it streamed (and how long-form series tables still do);
- pandas: `pd.read_csv(...).to_numpy(np.float32)` in a separate virtual environment
  (`benchmarks/.peers/tables`, created by this script); pandas is no maskfuse dependency.
maskfuse also infers column kinds, splits, fits the robust scaling and checks every
cell (naming the row of a bad one); pandas only parses.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "benchmarks" / ".peers" / "tables"

SIDE = """
import sys, time
import numpy as np
side, path = sys.argv[1], sys.argv[2]
if side == "pandas":
    import pandas as pd
else:
    from maskfuse.config import resolve
    from maskfuse.data import data_overrides, load_data
    from maskfuse.data.columns import read_columns
def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key))
open("/proc/self/clear_refs", "w").write("5")  # restart the peak here: a child inherits its parent's
base = status("VmRSS:")
t = time.perf_counter()
if side == "pandas":
    x = pd.read_csv(path).to_numpy(np.float32)
elif side == "cells held":
    x = read_columns(__import__("pathlib").Path(path))
else:
    extra = ["data.memory_mb=0"] if side == "maskfuse by row" else []
    x = load_data(resolve(data_settings=data_overrides(path), overrides=["data.name=table", *extra]).data)
seconds = time.perf_counter() - t
print(seconds, (status("VmHWM:") - base) / 1024)
"""


def write_csv(path: Path, rows: int) -> None:
    from maskfuse.data.fashion_mnist import DEFAULT_PATH, read_idx

    images = read_idx(DEFAULT_PATH / "train-images-idx3-ubyte.gz")[:rows].reshape(rows, -1)
    labels = read_idx(DEFAULT_PATH / "train-labels-idx1-ubyte.gz")[:rows]
    with open(path, "w") as f:
        f.write(",".join([f"p{j}" for j in range(images.shape[1])] + ["label"]) + "\n")
        for row, label in zip(images, labels):
            f.write(",".join(map(str, row.tolist())) + f",{label}\n")


def pandas_python() -> str | None:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        if subprocess.run([str(python), "-m", "pip", "install", "-q", "pandas"]).returncode != 0:
            return None
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "table_load.json"))
    args = parser.parse_args()
    results = {"rows": args.rows, "columns": 785, "sides": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fashion.csv"
        write_csv(path, args.rows)
        results["file_mib"] = round(path.stat().st_size / 2**20, 1)
        sides = {"maskfuse": sys.executable, "maskfuse by row": sys.executable, "cells held": sys.executable}
        sides["pandas"] = pandas_python()
        for side, python in sides.items():
            if python is None:
                continue
            done = subprocess.run([python, "-c", SIDE, side, str(path)], capture_output=True, text=True, check=True)
            seconds, mib = map(float, done.stdout.split())
            results["sides"][side] = {"seconds": round(seconds, 2), "peak_mib_above_imports": round(mib)}
            print(f"{side:16s} {seconds:6.1f} s  {mib:6.0f} MiB", flush=True)
    reference = results["sides"].get("pandas")
    for entry in results["sides"].values():
        if reference:
            entry["time_vs_pandas"] = round(entry["seconds"] / reference["seconds"], 2)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
