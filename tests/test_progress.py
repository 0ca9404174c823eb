import io
import re

from rich.console import Console

from maskfuse import progress as progress_module
from maskfuse.progress import progress


def test_plain_lines_count_and_give_an_eta_off_a_terminal(monkeypatch):
    monkeypatch.setattr(progress_module, "PLAIN_EVERY_S", 0.0)
    monkeypatch.setattr(progress_module, "SAY_AFTER_S", 0.0)
    sink = io.StringIO()
    console = Console(file=sink, width=200)
    with progress("evaluating", 3, console) as advance:
        advance(what="knn on raw input")
        advance(what="knn on pretrained")
        advance()
    lines = sink.getvalue().splitlines()
    assert re.fullmatch(r"evaluating: 1/3 \(knn on raw input\), 0m00s, ETA 0m00s", lines[0])
    assert lines[1].startswith("evaluating: 2/3 (knn on pretrained)")
    assert re.fullmatch(r"evaluating: done in 0m0\ds", lines[-1]) and len(lines) == 3


def test_quick_steps_say_nothing_and_a_terminal_gets_a_bar(monkeypatch):
    sink = io.StringIO()
    with progress("decoding", 2, Console(file=sink)) as advance:  # under SAY_AFTER_S: silent
        advance()
        advance()
    assert sink.getvalue() == ""
    monkeypatch.setattr(progress_module, "SAY_AFTER_S", 0.0)
    term = io.StringIO()
    with progress("decoding", 2, Console(file=term, force_terminal=True, width=100)) as advance:
        advance(what="chunk 1")
        advance(what="chunk 2")
    assert "decoding: done in" in term.getvalue()
