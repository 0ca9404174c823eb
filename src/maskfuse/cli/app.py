"""The command line: `maskfuse pretrain | evaluate | embed | report | compare | sweep | data |
recipes | config`. Parsing, help and the one-line errors live here; the commands in
`maskfuse.cli.commands`."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from rich.markup import escape

from maskfuse.cli.commands import (
    _yaml,
    cmd_compare,
    cmd_config_show,
    cmd_data_shard,
    cmd_embed,
    cmd_evaluate,
    cmd_export,
    cmd_pretrain,
    cmd_recipes,
    cmd_report,
    cmd_sweep,
    err,
)
from maskfuse.config import Config
from maskfuse.errors import MaskfuseError, did_you_mean
from maskfuse.version import __version__


def settings_help() -> str:
    """Every config key with its default, grouped by section, for `pretrain --help`."""
    lines = ["settings (override as section.key=value; defaults shown; what each does: maskfuse config show KEY):"]
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
    p.add_argument("--version", action="version", version=f"maskfuse {__version__}")
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

    ex = sub.add_parser("export", help="write the encoder alone (safetensors, ONNX) with its config and a model card")
    ex.add_argument("run", help="run directory")
    ex.add_argument("--out", required=True, help="a new or empty folder")
    ex.add_argument("--format", default="safetensors", help="safetensors (always written) and/or onnx, comma-separated")
    ex.set_defaults(func=cmd_export)

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
        from maskfuse import checkpoint

        run = getattr(args, "resume", None) or getattr(args, "out", None)
        done = checkpoint.latest(Path(run)) if run else None
        where = f"; checkpoint kept at {done}" if done else ""
        err.print(f"interrupted{where}. Continue with: maskfuse pretrain --resume RUN_DIR")
        return 130


if __name__ == "__main__":
    sys.exit(main())
