"""Scratch files: byte strings read back, and the temporary files of killed processes swept."""

import os
import pickle
import subprocess
import sys

import numpy as np

from maskfuse.data import scratch
from maskfuse.data.scratch import Spans, SpanSink


def test_spans_read_back_what_was_written_in_any_order():
    sink = SpanSink(".bin")
    items = [b"", 'é\n,"x'.encode(), b"\x00" * 9, b"abc"]
    for item in items:
        sink.add(item)
    spans = sink.finish()
    assert len(spans) == 4 and spans.starts.tolist() == [0, 0, 6, 15, 18]
    assert spans.read(np.array([3, 0, 1, 3])) == [items[3], items[0], items[1], items[3]]
    copy = pickle.loads(pickle.dumps(spans))  # a DataLoader worker gets the path and offsets only
    assert isinstance(copy, Spans) and copy.read(np.array([2])) == [items[2]]


def test_a_killed_process_leaves_no_temporary_files_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(scratch, "_swept", [])
    child = "from maskfuse.data.scratch import temp_file; print(temp_file('.bin')); import os; os._exit(9)"
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp_path)})  # fmt: skip
    left = tmp_path / done.stdout.strip().rsplit("/", 1)[-1]
    assert done.returncode == 9 and left.exists()  # killed: its exit handler never ran
    other = tmp_path / "maskfuse-notapid-x.bin"  # not ours to judge: kept
    other.write_bytes(b"")
    mine = scratch.temp_file(".bin")  # the first in this process sweeps
    assert not left.exists() and other.exists() and mine.exists() and mine.parent == tmp_path
    assert mine.name.startswith(f"maskfuse-{os.getpid()}-")
    assert scratch.sweep_temp(tmp_path) == 0  # this process is alive: its file stays
