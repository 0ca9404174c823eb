"""The rich tables `maskfuse evaluate` prints."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table


def results_table(report: dict) -> Table:
    from maskfuse.evaluate.suite import headline_rows  # loads torch: only when a table is drawn

    title = f"{report['method']} on {report['data']} (step {report['step']}, test rows {report['test_rows']})"
    table = Table(title=escape(title))
    columns, rows = headline_rows(report)
    table.add_column("features", no_wrap=True)
    for col in columns:
        table.add_column(col, justify="right")
    for name, cells in rows.items():
        table.add_row(escape(name), *cells)
    return table


def crossmodal_tables(cross: dict) -> list[Table]:
    """Random init beside pretrained for retrieval, zero-shot and missing-modality probes."""
    init, pre = cross["random init"], cross["pretrained"]
    tables = []
    ret = Table(title="cross-modal retrieval (test; class R@1 = top-1 has the query's class)")
    for col in ("pair", "R@1", "R@5", "R@10", "median rank", "class R@1"):
        ret.add_column(col, justify="right" if col != "pair" else "left")
    for pair, r in pre["retrieval"].items():
        i = init["retrieval"][pair]
        cells = [f"{i[k]:.1f} -> {r[k]:.1f}" for k in ("R@1", "R@5", "R@10")]
        cells.append(f"{i['median_rank']:.0f} -> {r['median_rank']:.0f}")
        cells.append(f"{i['class_R@1']:.1f} -> {r['class_R@1']:.1f}" if "class_R@1" in r else "n/a")
        ret.add_row(escape(pair), *cells)
    tables.append(ret)
    if "joint_retrieval" in pre:
        joint = Table(title="retrieval from all other modalities, multilinear score (random init -> pretrained)")
        for col in ("others -> target", "R@1", "class R@1"):
            joint.add_column(col, justify="right" if col != "others -> target" else "left")
        for pair, r in pre["joint_retrieval"].items():
            i = init["joint_retrieval"][pair]
            cls = f"{i['class_R@1']:.1f} -> {r['class_R@1']:.1f}" if "class_R@1" in r else "n/a"
            joint.add_row(escape(pair), f"{i['R@1']:.1f} -> {r['R@1']:.1f}", cls)
        tables.append(joint)
    for key, title in (("zeroshot", "zero-shot accuracy %"), ("missing", "joint probe accuracy %, modalities dropped")):
        if key not in pre:
            continue
        t = Table(title=f"{title} (random init -> pretrained)")
        t.add_column("prototypes -> target" if key == "zeroshot" else "test inputs")
        t.add_column("accuracy", justify="right")
        for name, value in pre[key].items():
            t.add_row(escape(name), f"{init[key][name]:.1f} -> {value:.1f}")
        tables.append(t)
    return tables
