"""maskfuse pretrain | evaluate | embed | report | data | recipes | config."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import maskfuse
from maskfuse.config import Config, resolve
from maskfuse.config_docs import pick, settings
from maskfuse.errors import ConfigError, DataError, MaskfuseError, did_you_mean
from maskfuse.recipes import recipe_description, recipe_names

# Only light modules load at start-up, so `--help`, `recipes` and `config show` answer at once;
# each command imports torch and what it needs itself (benchmarks/cli_startup.py measures it).
out = Console()
err = Console(stderr=True)
EMBED_CHUNK = 4096  # rows decoded and embedded at a time by `maskfuse embed`


def cmd_pretrain(args: argparse.Namespace) -> int:
    from maskfuse import api
    from maskfuse.data import data_overrides

    if args.resume:
        if args.recipe or args.data:
            raise ConfigError("--resume continues a run with its saved config; drop --recipe and --data")
        path = api.resume(args.resume, args.overrides)
    else:
        data = data_overrides(args.data) if args.data else None
        trackers = [t.strip() for t in args.log.split(",") if t.strip() not in ("", "jsonl")] if args.log else []
        logging = [f"train.trackers=[{','.join(trackers)}]"] if trackers else []
        cfg = resolve(args.recipe or "mae", logging + args.overrides, data_settings=data)
        path = api.pretrain(cfg, args.out, force=args.force)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for the run
        return 0
    out.print(f"run directory: [bold]{path}[/bold]")
    out.print(f"next: maskfuse evaluate {path}")
    return 0


def results_table(report: dict) -> Table:
    from maskfuse.evaluate.suite import headline_rows

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


def cmd_evaluate(args: argparse.Namespace) -> int:
    from maskfuse import api
    from maskfuse.evaluate.suite import knn_note

    protocols = tuple(p.strip() for p in args.protocols.split(",") if p.strip()) if args.protocols else None
    report = api.evaluate(args.run, protocols, args.compare)
    out.print(results_table(report))
    if knn_note(report):
        out.print(escape(knn_note(report)))
    for table in crossmodal_tables(report["crossmodal"]) if "crossmodal" in report else []:
        out.print(table)
    if "comparison" in report:
        c = report["comparison"]
        out.print(f"vs {escape(c['other'])}: linear CKA {c['linear_cka']:.3f}, mutual 10-NN {c['mutual_knn@10']:.3f}")
    if "unsaved" in report:
        err.print(
            f"[bold red]error:[/bold red] could not write {escape(report['unsaved'])}; the results above are not saved"
        )
        return 1
    out.print(f"written: {Path(args.run) / 'eval.json'}")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from maskfuse import api
    from maskfuse.data import data_overrides, in_chunks, load_data, resident
    from maskfuse.data.paired import part_splits
    from maskfuse.data.text import fit_ids
    from maskfuse.embed_files import EmbeddedRows, write_embeddings

    model = api.load(args.run)
    cfg = resolve(base=model.config.to_dict(), data_settings=data_overrides(args.data) if args.data else None)
    # on demand, so each row keeps where it comes from; text through the run's own tokenizer
    splits = load_data(replace(cfg.data, memory_mb=0), model.spec)
    encoding = model.spec.meta.get("encoding")
    if encoding is not None and splits.spec.meta.get("encoding") != encoding:
        raise DataError(
            f"--data {args.data}: its columns or categories differ from those the run was trained on; "
            "a table model embeds only tables encoded the same way"
        )
    if model.spec.parts and args.modality not in model.spec.parts:
        raise ConfigError(
            f"this run is multimodal: name the modality to embed, --modality {'|'.join(model.spec.parts)}"
        )
    if model.spec.parts:  # paired shards hold no per-modality view: read them whole first
        splits = part_splits(splits if hasattr(splits.train, "part") else resident(splits, len(splits.train)),
                             args.modality)  # fmt: skip
    names = {"train": ["train"], "test": ["test"], "all": ["train", "test"]}[args.split]
    done = []
    for name in names:  # chunk by chunk: a split read on demand is never held whole
        rows = EmbeddedRows(name)
        for chunk, origins in in_chunks(getattr(splits, name), EMBED_CHUNK):
            inputs = fit_ids(chunk.inputs, model.spec) if model.spec.modality == "text" else chunk.inputs
            rows.add(model.embed(inputs, modality=args.modality, shared=args.shared), chunk.labels, origins)
        done.append(rows)
    target = write_embeddings(Path(args.out), done, splits.spec.class_names)
    total = sum(len(r.labels) for r in done)
    out.print(f"wrote {total} embeddings of width {done[0].embeddings[0].shape[1]} to {target}")
    return 0


def cmd_data_shard(args: argparse.Namespace) -> int:
    from maskfuse.data import data_overrides, load_data
    from maskfuse.data.shards import write_shards

    cfg = resolve(overrides=args.overrides, data_settings=data_overrides(args.data))
    index = write_shards(load_data(cfg.data), Path(args.out), args.shard_size, cfg.data.split_seed)
    for name in ("train", "test"):
        out.print(f"{name}: {index['rows'][name]} rows in {len(index['shards'][name])} shard(s)")
    out.print(f"written: {args.out} (train with: maskfuse pretrain --data {args.out} ...)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from maskfuse.report import build_report  # matplotlib loads only when a report is made

    path = build_report(args.run, projection=args.map)
    out.print(f"report: {path}")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    """Each key with its value (the recipe's under --recipe), its type and what it does."""
    cfg = resolve(args.recipe) if args.recipe else Config()
    chosen = pick(settings(cfg), args.key) if args.key else settings(cfg)
    defaults = {s.key: s.default for s in settings()}
    for s in chosen:
        changed = s.default != defaults[s.key]
        note = f"  [dim](recipe; default {escape(_yaml(defaults[s.key]))})[/dim]" if changed else ""
        line = f"[bold]{escape(s.key)}[/bold] = {escape(_yaml(s.default))}  [dim]{escape(s.type)}[/dim]{note}"
        out.print(line, highlight=False, soft_wrap=True)
        if s.description:
            text = textwrap.fill(s.description, max(out.width - 4, 40), initial_indent="    ", subsequent_indent="    ")
            out.print(escape(text), highlight=False, soft_wrap=True)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from maskfuse.report.compare import build_compare  # matplotlib loads only when a page is made

    out.print(f"comparison: {build_compare(args.runs, args.out)}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    import time

    from maskfuse.sweep import sweep

    target = Path(args.out or f"runs/sweep-{args.recipe}-{time.strftime('%Y%m%d-%H%M%S')}")
    trials = sweep(args.recipe, args.data, args.settings, target, args.jobs, report=lambda s: out.print(escape(s)))
    failed = [t.name for t in trials if t.status.startswith("failed")]
    if failed:
        names = escape(", ".join(failed))
        err.print(f"[bold red]error:[/bold red] {len(failed)} of {len(trials)} runs failed: {names}")
        return 1
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    table = Table(title="recipes (maskfuse pretrain --recipe NAME)")
    table.add_column("name")
    table.add_column("what it does")
    for name in recipe_names():
        table.add_row(name, recipe_description(name))
    out.print(table)
    return 0


def _yaml(value: object) -> str:
    """A value as it is typed on the command line: true, null, [0.35, 1.0], mae."""
    return value if isinstance(value, str) else json.dumps(value)


def settings_help() -> str:
    """Every config key with its default, grouped by section, for `pretrain --help`."""
    lines = ["settings (override as section.key=value; defaults shown):"]
    for section, values in Config().to_dict().items():
        if isinstance(values, dict):
            body = " ".join(f"{k}={_yaml(v)}" for k, v in values.items())
            lines.append(textwrap.fill(body, 100, initial_indent=f"  {section}: ", subsequent_indent="    "))
        else:
            lines.append(f"  {section}={_yaml(values)}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="maskfuse", description=__doc__ and "Self-supervised pretraining for any modality."
    )
    p.add_argument("--version", action="version", version=f"maskfuse {maskfuse.__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    pre = sub.add_parser(
        "pretrain",
        help="pretrain an encoder",
        description="Pretrain an encoder from a recipe.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pre.add_argument("--recipe", help="recipe name (see `maskfuse recipes`) or path to a YAML file; default mae")
    pre.add_argument(
        "--data",
        help="dataset name, a folder (images or audio) or a file (.npz, .ts, .tsv, .jsonl; others need data.name)",
    )
    pre.add_argument("--out", help="run directory (default runs/<method>-<data>-<time>)")
    pre.add_argument("--force", action="store_true", help="write the run into a folder that holds other files")
    pre.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its latest checkpoint")
    pre.add_argument(
        "--log",
        metavar="TRACKERS",
        help="also log to these trackers, comma-separated: tensorboard, wandb, mlflow, csv "
        "(metrics.jsonl is always written; each tracker installs from its extra, e.g. maskfuse[wandb])",
    )
    pre.add_argument("overrides", nargs="*", help="dotted overrides, e.g. train.steps=200 model.size=tiny")
    pre.set_defaults(func=cmd_pretrain)

    ev = sub.add_parser(
        "evaluate",
        help="k-NN, linear probe, k-means, few-shot, diagnostics vs baselines",
        formatter_class=_ProtocolsHelp,
    )
    ev.add_argument("run", help="run directory")
    ev.add_argument("--protocols", help="the protocols to run")  # listed by _ProtocolsHelp
    ev.add_argument("--compare", metavar="OTHER_RUN", help="also report linear CKA and mutual k-NN against this run")
    ev.set_defaults(func=cmd_evaluate)

    em = sub.add_parser("embed", help="write embeddings of a dataset to .npy or .parquet")
    em.add_argument("run", help="run directory")
    em.add_argument("--data", help="dataset name or path; default: the run's own data")
    em.add_argument("--out", required=True, help="output file, .npy (embeddings) or .parquet (with labels)")
    em.add_argument("--split", choices=("train", "test", "all"), default="all")
    em.add_argument("--modality", default=None, help="multimodal runs: which modality to embed")
    em.add_argument("--shared", action="store_true", help="multimodal runs: unit embeddings in the shared space")
    em.set_defaults(func=cmd_embed)

    rp = sub.add_parser("report", help="write report.html with curves, reconstructions, masks and an embedding map")
    rp.add_argument("run", help="run directory (evaluated first if it has no eval.json)")
    rp.add_argument("--map", default="pca", choices=("pca", "tsne", "umap"), help="2-D projection of the embeddings")
    rp.set_defaults(func=cmd_report)

    sw = sub.add_parser(
        "sweep",
        help="a grid of runs (key=a,b,c key2=x,y), one folder each, then a compare page",
        description="Run every combination of the settings given with several values; settings with one "
        "value apply to all. Running the same sweep again skips finished runs and resumes interrupted ones.",
    )
    sw.add_argument("--recipe", default="mae", help="recipe name or YAML file; default mae")
    sw.add_argument("--data", help="dataset name, folder or file, as for pretrain --data")
    sw.add_argument("--out", help="the sweep's folder (default runs/sweep-<recipe>-<time>)")
    sw.add_argument("--jobs", type=int, default=1, help="runs at a time; CPU threads are split between them")
    sw.add_argument("settings", nargs="+", help="e.g. mask.ratio=0.6,0.75,0.9 train.lr=1e-3,3e-3 train.steps=300")
    sw.set_defaults(func=cmd_sweep)

    cp = sub.add_parser("compare", help="runs side by side: settings, evaluation, curves, CKA (one HTML page)")
    cp.add_argument("runs", nargs="+", metavar="RUN", help="two or more run directories")
    cp.add_argument("--out", default="compare.html", help="the page to write (default compare.html)")
    cp.set_defaults(func=cmd_compare)

    da = sub.add_parser("data", help="data tools: `data shard` writes WebDataset tar shards from any source")
    da_sub = da.add_subparsers(dest="data_command", required=True)
    sh = da_sub.add_parser("shard", help="write a source's train and test splits as WebDataset tar shards")
    sh.add_argument("--data", required=True, help="dataset name, folder or file, as for pretrain --data")
    sh.add_argument("--out", required=True, help="a new or empty folder for the shards and spec.json")
    sh.add_argument("--shard-size", type=int, default=10000, help="samples per shard (default 10000)")
    sh.add_argument("overrides", nargs="*", help="data settings, e.g. data.name=text data.max_train=1000")
    sh.set_defaults(func=cmd_data_shard)

    rc = sub.add_parser("recipes", help="list the recipes")
    rc.set_defaults(func=cmd_recipes)

    co = sub.add_parser("config", help="config tools: `config show` lists every key, its default and its meaning")
    co_sub = co.add_subparsers(dest="config_command", required=True)
    cs = co_sub.add_parser("show", help="each key with its default, its type and one line on what it does")
    cs.add_argument("key", nargs="?", help="one key (train.steps) or a section (train); default all")
    cs.add_argument("--recipe", help="show the values this recipe sets (bold where it differs from the default)")
    cs.set_defaults(func=cmd_config_show)
    return p


class _ProtocolsHelp(argparse.HelpFormatter):
    """Lists the registered evaluation protocols, importing them only when the help is shown."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.dest != "protocols":
            return action.help
        import maskfuse.evaluate  # noqa: F401  (registers the protocols)
        from maskfuse.registry import EVALUATIONS

        return f"comma-separated, from: {', '.join(EVALUATIONS.names())}; default the run's eval.protocols"


def main(argv: list[str] | None = None) -> int:
    p = parser()
    argv = sys.argv[1:] if argv is None else argv
    commands = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices
    if argv and not argv[0].startswith("-") and argv[0] not in commands:  # argparse itself suggests only from 3.14
        p.error(f"unknown command '{argv[0]}'{did_you_mean(argv[0], commands)}; commands: {', '.join(commands)}")
    args, extra = p.parse_known_args(argv)
    # argparse binds a '*' positional once, so overrides given after an option arrive here
    takes_settings = args.command in ("pretrain", "data", "sweep")
    if extra and (not takes_settings or any(x.startswith("-") or "=" not in x for x in extra)):
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        if args.command == "sweep":
            args.settings = args.settings + extra
        else:
            args.overrides = args.overrides + extra
    try:
        return args.func(args)
    except MaskfuseError as e:
        err.print(f"[bold red]error:[/bold red] {escape(str(e))}", highlight=False, soft_wrap=True)
        return e.exit_code
    except OSError as e:  # the system refused a file maskfuse writes: a full disk, a read-only folder
        where = f"{e.filename}: " if e.filename else ""
        err.print(f"[bold red]error:[/bold red] {escape(where + (e.strerror or str(e)))}", highlight=False)
        return 1
    except KeyboardInterrupt:
        from maskfuse.train import checkpoint

        run = getattr(args, "resume", None) or getattr(args, "out", None)
        done = checkpoint.latest(Path(run)) if run else None
        where = f"; checkpoint kept at {done}" if done else ""
        err.print(f"interrupted{where}. Continue with: maskfuse pretrain --resume RUN_DIR")
        return 130


if __name__ == "__main__":
    sys.exit(main())
