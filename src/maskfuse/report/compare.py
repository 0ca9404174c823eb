"""`maskfuse compare RUN RUN ... --out compare.html`: runs side by side in one self-contained page.

It shows the settings in which the runs differ, each run's evaluation beside the shared
baselines, their loss and monitor curves overlaid, and how alike their embeddings are: linear
CKA and mutual 10-NN between every pair, on the first run's held-out rows. Runs evaluated
before keep their eval.json; the others are evaluated first. Every run-controlled string is
escaped, as in the report.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from maskfuse import checkpoint
from maskfuse.data import load_data, resident
from maskfuse.data.base import spread
from maskfuse.encoder import embed_dataset
from maskfuse.errors import ConfigError
from maskfuse.evaluate.alignment import linear_cka, mutual_knn
from maskfuse.evaluate.suite import evaluate_run, headline_rows, saved_eval
from maskfuse.overrides import flatten
from maskfuse.pretrained import Pretrained, load
from maskfuse.report import figures
from maskfuse.report.build import data_uri, read_metrics
from maskfuse.report.html import STYLE

SIMILARITY_ROWS = 2000  # held-out rows embedded by every run for CKA / mutual k-NN


def current_eval(model: Pretrained) -> dict[str, Any]:
    """The run's eval.json when it scores the run's latest checkpoint, else a fresh evaluation."""
    return saved_eval(model.path, model.step) or evaluate_run(model.path)


def run_names(runs: list[Path]) -> list[str]:
    """Each run's folder name, or its path where two folders share a name."""
    names = [r.name for r in runs]
    return [str(r) if names.count(r.name) > 1 else r.name for r in runs]


def config_diff(models: list[Pretrained]) -> dict[str, list[Any]]:
    """Dotted key -> each run's value, for the keys whose values differ (run_dir aside)."""
    values = [flatten(m.config.to_dict()) for m in models]
    return {k: [v[k] for v in values] for k in values[0] if k != "run_dir" and len({repr(v[k]) for v in values}) > 1}


def similarities(models: list[Pretrained], names: list[str]) -> list[dict[str, Any]]:
    """Linear CKA and mutual 10-NN between each pair of runs, on the first run's held-out rows;
    pairs whose inputs differ in shape, or multimodal runs, are listed with the reason."""
    first = models[0]
    if any(m.spec.parts for m in models):
        return [{"pair": "all", "skipped": "multimodal runs: compare their cross-modal tables instead"}]
    splits = load_data(first.config.data, first.spec, first.config)
    test = spread(resident(splits, SIMILARITY_ROWS).test, SIMILARITY_ROWS)
    embedded = {}
    for name, model in zip(names, models):
        if tuple(model.spec.shape) == tuple(first.spec.shape):
            embedded[name] = embed_dataset(model.backbone, test, first.config.eval.batch_size)
    pairs = []
    for a, b in itertools.combinations(names, 2):
        if a in embedded and b in embedded:
            za, zb = embedded[a], embedded[b]
            pairs.append({"pair": f"{a} / {b}", "linear_cka": linear_cka(za, zb), "mutual_knn@10": mutual_knn(za, zb)})
        else:
            pairs.append({"pair": f"{a} / {b}", "skipped": "their inputs differ in shape"})
    return pairs


def evaluation_table(reports: list[dict[str, Any]], names: list[str]) -> str:
    """One row per run's pretrained encoder, below the first run's raw-input and random-init rows
    (every run is evaluated on its own held-out split; the caption says when those differ)."""
    columns: list[str] = []
    per_run = []
    for report in reports:
        cols, rows = headline_rows(report)
        per_run.append(dict(zip(cols, rows.get("pretrained", []))))
        columns += [c for c in cols if c not in columns]
        if report is reports[0]:
            baselines = {row: dict(zip(cols, cells)) for row, cells in rows.items() if row != "pretrained"}
    head = "".join(f"<th>{escape(c)}</th>" for c in ["encoder", *columns])
    body = [(f"{row} ({names[0]})", cells, "baseline") for row, cells in baselines.items()]
    body += [(name, cells, "pretrained") for name, cells in zip(names, per_run)]
    rows_html = "".join(
        f'<tr class="{kind}"><td>{escape(name)}</td>'
        + "".join(f"<td>{escape(cells.get(c, 'n/a'))}</td>" for c in columns)
        + "</tr>"
        for name, cells, kind in body
    )
    return f'<table id="evaluation"><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>'


def render(names, reports, diff, pairs, curves_src: str | None) -> str:
    runs_html = "".join(
        f"<tr><td>{escape(n)}</td><td><code>{escape(r['run'])}</code></td><td>{escape(r['method'])}</td>"
        f"<td>{escape(r['data'])}</td><td>{int(r['step'])}</td><td>{int(r['test_rows'])}</td></tr>"
        for n, r in zip(names, reports)
    )
    diff_head = "".join(f"<th>{escape(n)}</th>" for n in names)
    diff_rows = "".join(
        f"<tr><td>{escape(k)}</td>" + "".join(f"<td>{escape(v if isinstance(v, str) else json.dumps(v))}</td>"
                                              for v in values) + "</tr>"
        for k, values in diff.items()
    ) or f'<tr><td colspan="{len(names) + 1}">the runs share every setting</td></tr>'  # fmt: skip
    pair_rows = "".join(
        f"<tr><td>{escape(p['pair'])}</td>"
        + (f"<td>{p['linear_cka']:.3f}</td><td>{p['mutual_knn@10']:.3f}</td>" if "skipped" not in p
           else f'<td colspan="2">{escape(p["skipped"])}</td>')
        + "</tr>"
        for p in pairs
    )  # fmt: skip
    splits = {(r["data"], r["test_rows"]) for r in reports}
    split_note = "" if len(splits) == 1 else " The runs' held-out splits differ, so their rows are not like for like."
    curves = ""
    if curves_src:
        curves = (
            f'<h2>Training</h2><img src="{escape(curves_src, quote=True)}" alt="overlaid training curves">'
            '<p class="caption">Loss and online monitors per step, one line per run.</p>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskfuse: {len(names)} runs compared</title>
<style>{STYLE}</style></head><body>
<h1>maskfuse: {len(names)} runs compared</h1>
<table id="runs"><thead><tr><th>run</th><th>folder</th><th>method</th><th>data</th><th>step</th>
<th>held-out rows</th></tr></thead><tbody>{runs_html}</tbody></table>
<h2>Settings that differ</h2>
<table id="diff"><thead><tr><th>key</th>{diff_head}</tr></thead><tbody>{diff_rows}</tbody></table>
<h2>Evaluation</h2>
<p class="caption">Each run's pretrained encoder on its held-out split, below the raw input and
random-init baselines of the first run.{escape(split_note)}</p>
{evaluation_table(reports, names)}
{curves}
<h2>How alike the embeddings are</h2>
<p class="caption">Linear CKA (1 = the same up to rotation and scale) and the share of shared
10 nearest neighbours, on up to {SIMILARITY_ROWS} held-out rows of the first run.</p>
<table id="similarity"><thead><tr><th>runs</th><th>linear CKA</th><th>mutual 10-NN</th></tr></thead>
<tbody>{pair_rows}</tbody></table>
</body></html>
"""


def build_compare(runs: list[str | Path], out: str | Path) -> Path:
    """Write the comparison page of `runs` (at least two run folders) to `out`; returns it."""
    paths = [Path(r) for r in runs]
    if len(paths) < 2:
        raise ConfigError("compare needs at least two run folders")
    names = run_names(paths)
    models = [load(p) for p in paths]
    reports = [current_eval(m) for m in models]
    per_run = {name: read_metrics(p) for name, p in zip(names, paths)}
    curves_src = None
    if any(per_run.values()):
        with tempfile.TemporaryDirectory() as tmp:
            curves_src = data_uri(figures.overlaid_curves(per_run, Path(tmp) / "curves.png"))
    page = render(names, reports, config_diff(models), similarities(models, names), curves_src)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_text_atomic(out, page)
    return out
