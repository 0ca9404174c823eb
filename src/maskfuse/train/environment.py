"""Where a run trained: versions, device, threads and ranks, kept in run_dir/environment.json.

Each training session (the first, and every resume) appends one record when its steps
begin, so the report describes the machines that trained the run rather than the one that
draws the report, and a run resumed elsewhere shows both.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from maskfuse import checkpoint
from maskfuse.version import __version__

FILE = "environment.json"


def describe(device: torch.device, world_size: int, from_step: int) -> dict[str, Any]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "from_step": from_step,
        "maskfuse": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
        "device": f"{device.type}: {name}",
        "torch_threads": torch.get_num_threads(),
        "ranks": world_size,
    }


def read_sessions(run_dir: Path) -> list[dict[str, Any]]:
    """The recorded sessions, oldest first; [] for a run made before they were recorded,
    or when the file is damaged (it only describes the run, so it never stops a resume)."""
    path = Path(run_dir) / FILE
    try:
        sessions = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [s for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else []


def record_session(run_dir: Path, device: torch.device, world_size: int, from_step: int) -> None:
    """Append this session (main rank only; the caller checks) and write the file atomically."""
    sessions = read_sessions(run_dir) if from_step else []
    sessions.append(describe(device, world_size, from_step))
    checkpoint.write_text_atomic(Path(run_dir) / FILE, json.dumps(sessions, indent=1) + "\n")
