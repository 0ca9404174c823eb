"""Scratch files a load writes for itself: temporary files removed at exit (and swept
away after a killed process), and `Spans`, byte strings stored one after another in one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def temp_file(suffix: str) -> Path:
    """A new empty temporary file, removed when the process exits. Its name holds the
    process id, so the first one a process makes also sweeps away those of killed
    processes (which never reached their exit handlers)."""
    if not _swept:
        _swept.append(sweep_temp(Path(tempfile.gettempdir())))
    fd, name = tempfile.mkstemp(prefix=f"maskfuse-{os.getpid()}-", suffix=suffix)
    os.close(fd)
    atexit.register(remove_temp, name)
    return Path(name)


_swept: list[int] = []  # set once this process has swept


def sweep_temp(folder: Path) -> int:
    """Remove the temporary files in `folder` of maskfuse processes no longer alive; how many."""
    removed = 0
    for path in folder.glob("maskfuse-*-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            remove_temp(path)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_temp(name: Path) -> None:
    with contextlib.suppress(OSError):
        os.remove(name)


@dataclass
class Spans:
    """Byte strings stored one after another in a file: only where each starts is held,
    and `read` reads those asked for (by pickle, workers get the path and the offsets)."""

    path: Path
    starts: np.ndarray  # [N + 1] byte offsets: item i is bytes starts[i]:starts[i + 1]

    def __len__(self) -> int:
        return len(self.starts) - 1

    def read(self, rows: np.ndarray) -> list[bytes]:
        out = []
        with open(self.path, "rb") as f:
            for r in rows:
                f.seek(int(self.starts[r]))
                out.append(f.read(int(self.starts[r + 1] - self.starts[r])))
        return out


class SpanSink:
    """Byte strings appended one at a time to a new temporary file, read back as `Spans`."""

    def __init__(self, suffix: str) -> None:
        self.path, self.starts = temp_file(suffix), array("q", [0])
        self.file = open(self.path, "wb")  # noqa: SIM115 -- written item by item, closed by finish

    def add(self, data: bytes) -> None:
        self.starts.append(self.starts[-1] + self.file.write(data))

    def finish(self) -> Spans:
        self.file.close()
        return Spans(self.path, np.frombuffer(self.starts, np.int64))
