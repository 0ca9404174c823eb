"""Loading a CSV table: seconds and peak memory, against pandas.

Usage:
    .venv/bin/python benchmarks/table_load.py [--rows 20000] [--out benchmarks/results/table_load.json]
    .venv/bin/python benchmarks/table_load.py --layout long [--rows 5000]  # results/series_long_load.json

The table is real data: the first `--rows` Fashion-MNIST training images
(`apt-get install dataset-fashion-mnist`). Wide layout: a CSV of 784 integer pixel
columns and a label. Long layout: a series table with one line per pixel (id, time =
the pixel's column, axis = its row, so each image is a series of 28 channels x 28 steps,
value, label), the lines shuffled. Each side loads it in a fresh process, which reports
its wall time and its peak RSS above the RSS it had after its imports (Linux: the peak
is restarted through /proc/self/clear_refs, since a child inherits its parent's):
- maskfuse: `data.name=table` (long: `series-table` with `data.series_format=long`),
  held in memory (the default data.memory_mb=1024);
- maskfuse by row: the same with data.memory_mb=0, the encoded table in a temporary file;
- cells held (wide only): `columns.read_columns`, every cell a Python object, which is
  how the table source read a file before it streamed;
- pandas: wide, `pd.read_csv(...).to_numpy(np.float32)`; long, `read_csv`, then
  `pivot` to one row per (id, axis) and a reshape to [images, 28, 28]; in a separate
  virtual environment (`benchmarks/.peers/tables`, created by this script); pandas is no
  maskfuse dependency.
maskfuse also splits, fits its statistics and checks every cell (naming the row of a bad
one); pandas only parses (and, long, pivots).
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
side, path, layout = sys.argv[1], sys.argv[2], sys.argv[3]
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
if side == "pandas" and layout == "long":
    wide = pd.read_csv(path).pivot(index=["id", "axis"], columns="time", values="value")
    x = wide.to_numpy(np.float32).reshape(-1, 28, 28)
elif side == "pandas":
    x = pd.read_csv(path).to_numpy(np.float32)
elif side == "cells held":
    x = read_columns(__import__("pathlib").Path(path))
else:
    extra = ["data.memory_mb=0"] if side == "maskfuse by row" else []
    source = ["data.name=table"]
    if layout == "long":
        source = ["data.name=series-table", "data.series_format=long", "data.channel_column=axis"]
    x = load_data(resolve(data_settings=data_overrides(path), overrides=[*source, *extra]).data)
seconds = time.perf_counter() - t
print(seconds, (status("VmHWM:") - base) / 1024)
"""


def write_csv(path: Path, rows: int, layout: str) -> None:
    import numpy as np

    from maskfuse.data.fashion_mnist import DEFAULT_PATH, read_idx

    images = read_idx(DEFAULT_PATH / "train-images-idx3-ubyte.gz")[:rows].reshape(rows, -1)
    labels = read_idx(DEFAULT_PATH / "train-labels-idx1-ubyte.gz")[:rows]
    with open(path, "w") as f:
        if layout == "wide":
            f.write(",".join([f"p{j}" for j in range(images.shape[1])] + ["label"]) + "\n")
            for row, label in zip(images, labels):
                f.write(",".join(map(str, row.tolist())) + f",{label}\n")
            return
        f.write("id,time,axis,value,label\n")
        order = np.random.default_rng(0).permutation(images.size)
        image, pixel = np.divmod(order, images.shape[1])
        for lo in range(0, len(order), 1 << 16):
            part = slice(lo, lo + (1 << 16))
            lines = zip(image[part].tolist(), pixel[part].tolist(), images.reshape(-1)[order[part]].tolist())
            f.write("".join(f"i{i},{p % 28},r{p // 28:02d},{v},{labels[i]}\n" for i, p, v in lines))


def pandas_python() -> str | None:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        if subprocess.run([str(python), "-m", "pip", "install", "-q", "pandas"]).returncode != 0:
            return None
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layout", choices=["wide", "long"], default="wide")
    parser.add_argument("--rows", type=int, help="images (default: 20,000 wide, 5,000 long)")
    parser.add_argument("--out", help="default: results/table_load.json, or results/series_long_load.json")
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.layout == "wide" else 5_000)
    name = "table_load.json" if args.layout == "wide" else "series_long_load.json"
    out = args.out or str(ROOT / "benchmarks" / "results" / name)
    results = {"layout": args.layout, "rows": rows, "sides": {}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fashion.csv"
        write_csv(path, rows, args.layout)
        results["file_mib"] = round(path.stat().st_size / 2**20, 1)
        sides = {"maskfuse": sys.executable, "maskfuse by row": sys.executable}
        sides |= {"cells held": sys.executable} if args.layout == "wide" else {}
        sides["pandas"] = pandas_python()
        for side, python in sides.items():
            if python is None:
                continue
            command = [python, "-c", SIDE, side, str(path), args.layout]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            seconds, mib = map(float, done.stdout.split())
            results["sides"][side] = {"seconds": round(seconds, 2), "peak_mib_above_imports": round(mib)}
            print(f"{side:16s} {seconds:6.1f} s  {mib:6.0f} MiB", flush=True)
    reference = results["sides"].get("pandas")
    for entry in results["sides"].values():
        if reference:
            entry["time_vs_pandas"] = round(entry["seconds"] / reference["seconds"], 2)
    Path(out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
