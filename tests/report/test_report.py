"""The report: built from a real run, escaped, and checked in a real headless browser."""

import base64
import html
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

import maskfuse
from maskfuse.report import build_report
from tests.conftest import small_config

EVIL = ("<script>", "<img src=x onerror=alert(1)>")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip

HARNESS = """<!doctype html><html><body><pre id="result">pending</pre>
<iframe id="f" src="alone/report.html" width="1200" height="3000"></iframe>
<script>
const f = document.getElementById('f');
f.onload = () => {
  const d = f.contentDocument;
  const imgs = Array.from(d.images);
  const settle = i => i.complete ? Promise.resolve() : new Promise(r => { i.onload = r; i.onerror = r; });
  Promise.all(imgs.map(settle)).then(() => {
    document.getElementById('result').textContent = JSON.stringify({
      images: imgs.map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
      table: Array.from(d.querySelectorAll('#results tr')).map(tr => Array.from(tr.cells).map(c => c.textContent)),
      scripts: d.querySelectorAll('script').length,
      lead: d.querySelector('.lead').textContent,
    });
  });
};
</script></body></html>"""


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    """A short MAE run on an image folder whose class names try to inject markup."""
    root = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(0)
    for c, name in enumerate(EVIL):
        (root / "data" / name).mkdir(parents=True)
        for i in range(20):
            arr = (rng.random((8, 8)) * 80 + 150 * c).astype(np.uint8)
            Image.fromarray(arr).save(root / "data" / name / f"{i}.png")
    cfg = small_config("mae", d="data.name=image-folder", p=f"data.path={root / 'data'}", m="train.monitor_every=5")
    run = maskfuse.pretrain(cfg, root / "run")
    maskfuse.evaluate(run)
    return run, build_report(run)


def test_report_files_and_escaping(report_run):
    run, page_path = report_run
    page = page_path.read_text()
    for name in ("curves", "pictures", "masks", "map", "spectrum"):
        png = (run / "report" / f"{name}.png").read_bytes()
        assert len(png) > 1000
        assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in page  # the page carries it
    assert "<script>" not in page and "<img src=x" not in page
    assert html.escape(EVIL[0]) in page and html.escape(EVIL[1]) in page
    assert "http://" not in page and "https://" not in page  # opens offline: nothing to fetch


def chromium_or_skip() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing on CI: .ci/run must apt-get install chromium")
        pytest.skip("chromium not installed")
    return chromium


def test_report_in_a_real_browser(report_run, tmp_path):
    chromium = chromium_or_skip()
    run, page_path = report_run
    (run / "alone").mkdir()
    shutil.copy(page_path, run / "alone" / "report.html")  # copied without its PNGs, as a user mails it
    harness = run / "harness.html"
    harness.write_text(HARNESS)
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [chromium, *flags, "--allow-file-access-from-files", "--virtual-time-budget=15000", "--dump-dom",
         harness.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "pending", dom[-2000:]
    seen = json.loads(html.unescape(found.group(1)))
    assert len(seen["images"]) == 5 and all(i["ok"] for i in seen["images"]), [i["src"][:40] for i in seen["images"]]
    assert seen["scripts"] == 0  # the <script> label stayed text
    assert EVIL[0] in seen["lead"] and EVIL[1] in seen["lead"]
    report = json.loads((run / "eval.json").read_text())
    rows = {r[0]: r[1:] for r in seen["table"][1:]}
    for row, result in report["results"].items():
        assert rows[row][0] == f"{100 * result['knn']['top1']:.1f} %"
        assert rows[row][1] == f"{100 * result['linear']['top1']:.1f} %"
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, *flags, "--window-size=1200,2400", f"--screenshot={shot}", page_path.as_uri()],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert shot.stat().st_size > 20000  # a rendered page, not a blank one


def test_environment_is_the_training_machines_not_the_reporting_one(report_run):
    from maskfuse.report.build import environment
    from maskfuse.train.environment import read_sessions

    run, page_path = report_run
    sessions = read_sessions(run)
    assert len(sessions) == 1 and sessions[0]["from_step"] == 0 and sessions[0]["ranks"] == 1
    page = page_path.read_text()
    assert f"<td>torch threads</td><td>{sessions[0]['torch_threads']}</td>" in page
    # a run trained on a GPU box and resumed on a laptop: the report shows both, as recorded
    gpu = {**sessions[0], "device": "cuda: NVIDIA H100", "torch": "9.9.9"}
    laptop = {**sessions[0], "from_step": 4, "device": "cpu: arm"}
    (run / "environment.json").write_text(json.dumps([gpu, laptop]))
    try:
        env = environment(run, [], 8)
    finally:
        (run / "environment.json").write_text(json.dumps(sessions))
    assert env["device"] == "cuda: NVIDIA H100" and env["torch"] == "9.9.9"
    assert env["device (resumed at step 4)"] == "cpu: arm"
    (run / "environment.json").write_text("{torn")
    try:
        assert environment(run, [], 8)["training machine"].startswith("not recorded")
    finally:
        (run / "environment.json").write_text(json.dumps(sessions))


def _report(pre_knn, init_knn, raw_knn, pre_lin=0.9, init_lin=0.8, raw_lin=0.85):
    def row(knn, lin):
        return {"knn": {"top1": knn, "k": 20, "k_capped": False}, "linear": {"top1": lin}}

    return {"results": {"raw input": row(raw_knn, raw_lin), "random init": row(init_knn, init_lin),
                        "pretrained": row(pre_knn, pre_lin)}}  # fmt: skip


def test_verdict_says_when_pretraining_lost():
    from maskfuse.report.html import verdict

    better = verdict(_report(0.95, 0.6, 0.9))
    assert "+5.0 points over raw input" in better and "Worse" not in better
    worse = verdict(_report(0.84, 0.7, 0.846, pre_lin=0.75, init_lin=0.78))
    assert "-0.6 points over raw input" in worse
    assert "Worse than what it is compared with: k-NN is below the raw input" in worse
    assert "linear-probe is below the random init; linear-probe is below the raw input" in worse


def test_knn_cap_is_said_in_the_page():
    from maskfuse.evaluate.suite import knn_note

    report = _report(0.9, 0.5, 0.8)
    assert knn_note(report) == ""
    report["results"]["pretrained"]["knn"].update(k=12, k_capped=True)
    assert "k = 12" in knn_note(report)


def test_umap_without_its_package_names_the_extra(monkeypatch):
    import builtins

    from maskfuse.errors import ConfigError
    from maskfuse.report.build import project

    real = builtins.__import__

    def no_umap(name, *args, **kwargs):
        if name == "umap":
            raise ImportError("No module named 'umap'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_umap)
    with pytest.raises(ConfigError, match=r"--map umap needs umap-learn: pip install 'maskfuse\[umap\]'"):
        project(np.zeros((4, 3)), "umap")


@pytest.mark.parametrize(
    "modality,recipe", [("volume", "volume-simclr"), ("video", "video-mae"), ("motion", "mae"), ("points", "point-mae")]
)
def test_folder_modalities_draw_their_rows_and_masks(modality, recipe, tmp_path):
    """Volumes, clips and motion reach the report as images: raw-shaped rows (views, masked
    inputs) go through the tokenizer's `show`, and 2-D samplers are left out of a 3-D grid."""
    from maskfuse.methods.build import build_method
    from maskfuse.registry import MODALITIES
    from maskfuse.report import figures
    from maskfuse.report.build import mask_rows, shown

    splits, settings = MODALITIES.get(modality).contract_example()
    cfg = maskfuse.resolve(recipe, ["model.size=nano", *settings])
    method = build_method(cfg, splits.spec)
    raw = splits.test.batch(torch.arange(4))[modality]
    show = method.backbone.tokenizer.show
    rows = {**shown(method.pictures({modality: raw}), raw.shape, show), **shown(mask_rows(method, raw, cfg.mask),
            raw.shape, show)}  # fmt: skip
    assert all(r.dim() == 4 and len(r) == 4 and torch.isfinite(r).all() for r in rows.values())
    assert ("block mask" in rows) == (modality in ("motion", "points"))  # 2-D and 1-D token grids
    assert figures.image_grid(rows, tmp_path / "p.png", 4).stat().st_size > 0
