"""`maskfuse compare`: two real runs side by side, escaped, and checked in a headless browser."""

import html
import json
import re
import subprocess

import pytest

import maskfuse
from maskfuse.cli import main
from maskfuse.report.compare import build_compare, config_diff, run_names
from tests.conftest import small_config
from tests.report.test_report import CHROMIUM_FLAGS, chromium_or_skip

EVIL = "<img src=x onerror=alert(1)>"  # a folder name: no slash


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    a = maskfuse.pretrain(small_config("mae", r="mask.ratio=0.5", m="train.monitor_every=5"), root / "ratio-0.5")
    b = maskfuse.pretrain(small_config("mae", r="mask.ratio=0.9", m="train.monitor_every=5"), root / EVIL)
    maskfuse.evaluate(a)  # b is evaluated by compare itself
    return a, b


def test_settings_that_differ_and_each_runs_numbers(two_runs, tmp_path):
    a, b = two_runs
    models = [maskfuse.load(a), maskfuse.load(b)]
    assert config_diff(models) == {"mask.ratio": [0.5, 0.9]}
    page_path = build_compare([a, b], tmp_path / "c.html")
    page = page_path.read_text()
    assert "<img src=x" not in page and html.escape(EVIL) in page
    assert "http://" not in page and "https://" not in page
    assert re.search(r"<td>mask\.ratio</td><td>0\.5</td><td>0\.9</td>", page)
    for run in (a, b):  # each run's pretrained k-NN, as its eval.json has it
        knn = json.loads((run / "eval.json").read_text())["results"]["pretrained"]["knn"]["top1"]
        assert f"{100 * knn:.1f} %" in page
    assert page.count('src="data:image/png;base64,') == 1  # the overlaid curves travel inside the page


def test_a_run_compared_with_itself_is_identical(two_runs, tmp_path):
    from maskfuse.report.compare import similarities

    a, _ = two_runs
    same = similarities([maskfuse.load(a), maskfuse.load(a)], ["x", "y"])
    assert same[0]["linear_cka"] == pytest.approx(1.0, abs=1e-4)
    assert same[0]["mutual_knn@10"] == pytest.approx(1.0)
    assert run_names([a, a.parent / "other" / a.name]) == [str(a), str(a.parent / "other" / a.name)]


def test_compare_command_and_its_errors(two_runs, tmp_path, capsys):
    a, b = two_runs
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp.html")]) == 0
    assert (tmp_path / "cmp.html").exists()
    assert main(["compare", str(a), "--out", str(tmp_path / "x.html")]) == 2
    assert "at least two run folders" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "none")]) == 2
    assert "run directory does not exist" in capsys.readouterr().err


def test_compare_page_in_a_real_browser(two_runs, tmp_path):
    chromium = chromium_or_skip()
    a, b = two_runs
    page = build_compare([a, b], tmp_path / "alone" / "compare.html")
    harness = tmp_path / "harness.html"
    harness.write_text(
        '<!doctype html><html><body><pre id="result">pending</pre>'
        '<iframe id="f" src="alone/compare.html" width="1200" height="3000"></iframe><script>'
        "const f = document.getElementById('f'); f.onload = () => { const d = f.contentDocument;"
        "const i = d.images[0]; const done = () => document.getElementById('result').textContent ="
        "JSON.stringify({ok: i.naturalWidth > 0, images: d.images.length, scripts: d.querySelectorAll('script').length,"
        "diff: Array.from(d.querySelectorAll('#diff tr')).map(tr => Array.from(tr.cells).map(c => c.textContent)),"
        "runs: Array.from(d.querySelectorAll('#runs td')).map(c => c.textContent)});"
        "i.complete ? done() : (i.onload = done); };</script></body></html>"
    )
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files",
         "--virtual-time-budget=15000", "--dump-dom", harness.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "pending", dom[-2000:]
    seen = json.loads(html.unescape(found.group(1)))
    assert seen["ok"] and seen["scripts"] == 0 and seen["images"] == 1
    assert seen["diff"][1] == ["mask.ratio", "0.5", "0.9"]
    assert EVIL in seen["runs"]  # the folder name shows as text, never runs
    assert page.parent.name == "alone" and not list(page.parent.glob("*.png"))
