"""What each command does; `maskfuse.cli.app` parses the line and calls one of these.

Only light modules load at start-up, so `--help`, `recipes` and `config show` answer at once;
each command imports torch and what it needs itself (benchmarks/cli_startup.py measures it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import textwrap
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from maskfuse.cli.tables import crossmodal_tables, results_table
from maskfuse.config import Config, resolve
from maskfuse.config_docs import pick, settings
from maskfuse.errors import ConfigError, DataError
from maskfuse.progress import progress
from maskfuse.recipes import recipe_description, recipe_names

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
    splits = load_data(replace(cfg.data, memory_mb=0), model.spec, cfg)
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
        rows, split = EmbeddedRows(name), getattr(splits, name)
        with progress(f"embedding {len(split)} {name} rows", math.ceil(len(split) / EMBED_CHUNK)) as advance:
            for chunk, origins in in_chunks(split, EMBED_CHUNK):
                inputs = fit_ids(chunk.inputs, model.spec) if model.spec.modality == "text" else chunk.inputs
                rows.add(model.embed(inputs, modality=args.modality, shared=args.shared), chunk.labels, origins)
                advance()
        done.append(rows)
    target = write_embeddings(Path(args.out), done, splits.spec.class_names)
    total = sum(len(r.labels) for r in done)
    out.print(f"wrote {total} embeddings of width {done[0].embeddings[0].shape[1]} to {target}")
    return 0


def cmd_data_shard(args: argparse.Namespace) -> int:
    from maskfuse.data import data_overrides, load_data
    from maskfuse.data.shards import write_shards

    cfg = resolve(overrides=args.overrides, data_settings=data_overrides(args.data))
    index = write_shards(load_data(cfg.data, run=cfg), Path(args.out), args.shard_size, cfg.data.split_seed)
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


def cmd_export(args: argparse.Namespace) -> int:
    from maskfuse.export import export

    formats = tuple(dict.fromkeys(["safetensors", *(f.strip() for f in args.format.split(",") if f.strip())]))
    out.print(f"exported ({', '.join(formats)}): {export(args.run, args.out, formats)}")
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
