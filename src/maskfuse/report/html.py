"""The report page: one self-contained HTML file, figures inside it; every user string escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from maskfuse.evaluate.suite import headline_rows, knn_note

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1b1f24;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.lead{color:#555;margin-top:0} .verdict{background:#f3f7ff;border-left:4px solid #3b6fd8;padding:.6em 1em}
table{border-collapse:collapse;margin:1em 0} th,td{padding:.35em .8em;border-bottom:1px solid #e3e3e3;text-align:right}
th:first-child,td:first-child{text-align:left} tr.pretrained td{font-weight:600;background:#f7fbf3}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}
pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.85em}
.caption{color:#555;font-size:.9em;margin-top:0}
"""

CAPTIONS = {
    "curves": ("Training", "Loss (blue) and learning rate (grey) per step; online monitors on held-out rows."),
    "pictures": ("What the model sees", "Held-out samples: the input, what the method hides or how it augments "
                 "it, and for masked methods the reconstruction (predicted patches among the visible ones)."),
    "masks": ("Mask samplers", "The same inputs under every registered mask sampler at this run's ratio "
              "(grey = masked)."),
    "map": ("Embedding map", "Held-out embeddings of the pretrained encoder projected to 2-D, coloured by label."),
    "spectrum": ("Embedding spectrum", "Share of variance per principal component; a steep cliff means few "
                 "directions carry the embedding (collapse)."),
}  # fmt: skip


def verdict(report: dict[str, Any]) -> str:
    """What a newcomer should read at a glance: did pretraining help, against the encoder
    it started from and against the raw input the user already had? Where it did worse,
    the sentence says so plainly."""
    if "crossmodal" in report:
        ret = {row: report["crossmodal"][row]["retrieval"] for row in ("random init", "pretrained")}
        mean = {row: sum(r.get("class_R@1", r["R@1"]) for r in v.values()) / len(v) for row, v in ret.items()}
        text = (f"Shared space: mean cross-modal class R@1 {mean['pretrained']:.1f} % "
                f"(random init {mean['random init']:.1f} %) over {len(ret['pretrained'])} modality pairs.")  # fmt: skip
        if mean["pretrained"] < mean["random init"]:
            text += " Pretraining made the shared space worse than its random init."
        return text
    rows = report["results"]
    pre = rows.get("pretrained", {})
    lines, worse = [], []
    for key, name in (("knn", "k-NN"), ("linear", "linear-probe")):
        if "top1" not in pre.get(key, {}):
            continue
        score = 100 * pre[key]["top1"]
        against = []
        for row in ("random init", "initial weights", "raw input"):
            if "top1" in rows.get(row, {}).get(key, {}):
                delta = score - 100 * rows[row][key]["top1"]
                against.append(f"{delta:+.1f} points over {row}")
                if delta < 0:
                    worse.append(f"{name} is below the {row}")
        lines.append(f"{name} accuracy {score:.1f} %" + (f" ({', '.join(against)})" if against else ""))
    if not lines:
        return "No labels: only label-free diagnostics are shown."
    text = "Pretrained encoder: " + "; ".join(lines) + "."
    if worse:
        text += " Worse than what it is compared with: " + "; ".join(worse) + "."
    return text


def results_table(report: dict[str, Any]) -> str:
    columns, rows = headline_rows(report)
    head = "".join(f"<th>{escape(c)}</th>" for c in ["features", *columns])
    body = "".join(
        f'<tr class="{escape(name.replace(" ", "-"))}"><td>{escape(name)}</td>'
        + "".join(f"<td>{escape(cell)}</td>" for cell in cells)
        + "</tr>"
        for name, cells in rows.items()
    )
    return f'<table id="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def crossmodal_section(report: dict[str, Any]) -> str:
    """Random init -> pretrained for every cross-modal number of a multimodal run."""
    if "crossmodal" not in report:
        return ""
    init, pre = report["crossmodal"]["random init"], report["crossmodal"]["pretrained"]
    rows = [(f"retrieval {pair}", key, init[group][pair][key], value)
            for group in ("retrieval", "joint_retrieval") for pair, r in pre.get(group, {}).items()
            for key, value in r.items() if key.endswith("@1")]  # fmt: skip
    for group, title in (("zeroshot", "zero-shot"), ("missing", "joint probe")):
        rows += [(f"{title}: {name}", "accuracy %", init[group][name], v) for name, v in pre.get(group, {}).items()]
    body = "".join(
        f"<tr><td>{escape(what)}</td><td>{escape(metric)}</td><td>{a:.1f}</td><td>{b:.1f}</td></tr>"
        for what, metric, a, b in rows
    )
    return (
        '<h2>Cross-modal</h2><p class="caption">Shared-space retrieval (class R@1: the top-1 item has the '
        "query's class), zero-shot accuracy from another modality's prototypes, and the joint probe with a "
        'modality dropped at test time.</p><table id="crossmodal"><thead><tr><th>measure</th><th>metric</th>'
        f"<th>random init</th><th>pretrained</th></tr></thead><tbody>{body}</tbody></table>"
    )


def render(
    report: dict[str, Any],
    figures: dict[str, str],
    config_yaml: str,
    environment: dict[str, str],
    class_names: tuple[str, ...] = (),
) -> str:
    sections = []
    for key, (title, caption) in CAPTIONS.items():
        if key in figures:
            src = escape(figures[key], quote=True)
            sections.append(
                f'<h2>{escape(title)}</h2><img src="{src}" alt="{escape(title, quote=True)}">'
                f'<p class="caption">{escape(caption)}</p>'
            )
    env = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in environment.items())
    classes = ", ".join(escape(c) for c in class_names) or "none"
    title = f"{report['method']} on {report['data']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskfuse report: {escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>maskfuse report: {escape(title)}</h1>
<p class="lead">run <code>{escape(report["run"])}</code>, step {int(report["step"])},
{int(report["train_rows"])} training and {int(report["test_rows"])} held-out rows; classes: {classes}</p>
<p class="verdict">{escape(verdict(report))}</p>
<h2>Evaluation</h2>
<p class="caption">Each row is scored the same way on the held-out split: raw inputs, the encoder at
the weights pretraining started from, and the pretrained encoder. k-NN and the linear probe each
score the pooling of the encoder's tokens (mean, means of the last blocks, 2 x 2 spatial cells) that
wins on 10 % of the training rows; eval.json names it.</p>
{results_table(report)}
<p class="caption">{escape(knn_note(report))}</p>
{crossmodal_section(report)}
{"".join(sections)}
<h2>Configuration</h2><pre>{escape(config_yaml)}</pre>
<h2>Environment</h2><table>{env}</table>
</body></html>
"""
