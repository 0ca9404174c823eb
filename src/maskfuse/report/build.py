"""Assemble a run's report: figures from its metrics, checkpoint and evaluation."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from rich.console import Console

from maskfuse import checkpoint
from maskfuse.data import load_data, resident
from maskfuse.data.base import spread
from maskfuse.data.paired import primary_splits
from maskfuse.encoder import embed_dataset
from maskfuse.errors import ConfigError
from maskfuse.evaluate.suite import evaluate_run
from maskfuse.methods.build import build_method
from maskfuse.pretrained import load
from maskfuse.progress import progress
from maskfuse.registry import SAMPLERS
from maskfuse.report import figures
from maskfuse.report.html import render
from maskfuse.train.environment import read_sessions
from maskfuse.train.progress import read_records

PROJECTIONS = ("pca", "tsne", "umap")


def project(z: np.ndarray, how: str, seed: int = 0) -> np.ndarray:
    """2-D coordinates of embeddings: PCA, t-SNE (scikit-learn) or UMAP (if installed)."""
    if how == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(z)
    if how == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, init="pca", random_state=seed).fit_transform(z)
    if how == "umap":
        try:
            import umap
        except ImportError as err:
            raise ConfigError("--map umap needs umap-learn: pip install 'maskfuse[umap]'") from err
        return umap.UMAP(n_components=2, random_state=seed).fit_transform(z)
    raise ConfigError(f"--map {how}: expected one of {', '.join(PROJECTIONS)}")


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The run's metrics records; a last line cut off by a killed run is left out, said once."""
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    records, torn = read_records(path)
    if torn:
        Console(stderr=True).print(f"note: {path}: {torn}; the curves leave it out", highlight=False)
    return records


def build_report(run_dir: str | Path, projection: str = "pca", samples: int = 8, map_rows: int = 2000) -> Path:
    """Write run_dir/report/report.html, with its figures inside it as data URIs (the PNGs are
    also kept beside it); returns the HTML path."""
    run_dir = Path(run_dir)
    if projection not in PROJECTIONS:
        raise ConfigError(f"--map {projection}: expected one of {', '.join(PROJECTIONS)}")
    model = load(run_dir)
    cfg, spec = model.config, model.spec
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    eval_path = run_dir / "eval.json"
    report = json.loads(eval_path.read_text()) if eval_path.exists() else evaluate_run(run_dir)
    splits = resident(load_data(cfg.data, spec, cfg), cfg.eval.stream_rows)
    records = read_metrics(run_dir)
    with progress("drawing the report", 4) as advance:
        figs = draw_figures(model, report, splits, records, projection, samples, map_rows, out, advance)
    page = render(
        report=report,
        figures={k: data_uri(p) for k, p in figs.items()},
        config_yaml=yaml.safe_dump(cfg.to_dict(), sort_keys=False),
        environment=environment(run_dir, records, model.step),
        class_names=spec.class_names,
    )
    html_path = out / "report.html"
    checkpoint.write_text_atomic(html_path, page)
    return html_path


def draw_figures(model, report, splits, records, projection, samples, map_rows, out: Path, advance) -> dict:
    """The report's PNGs: curves, the method's pictures and masks, the embedding map, the spectrum."""
    cfg, spec = model.config, model.spec
    figs: dict[str, Path] = {}
    if records:
        figs["curves"] = figures.curves(records, out / "curves.png")
    advance(what="curves")
    if not spec.parts:  # multimodal runs: no per-method pictures yet; the map shows the first modality
        figs.update(method_pictures(model.path, cfg, spec, splits, samples, out))
    advance(what="pictures and masks")
    backbone = model.backbone.part(next(iter(spec.parts))) if spec.parts else model.backbone
    shown = spread(primary_splits(splits).test, map_rows)
    z = embed_dataset(backbone, shown).numpy()
    labels = None if shown.labels is None else shown.labels.numpy()
    title = f"{projection.upper()} of {len(z)} test embeddings"
    figs["map"] = figures.embedding_map(project(z, projection), labels, spec.class_names, title, out / "map.png")
    advance(what="embedding map")
    spectra = {
        row: r["diagnostics"]["spectrum"]
        for row, r in report["results"].items()
        if "spectrum" in r.get("diagnostics", {})
    }
    if spectra:
        figs["spectrum"] = figures.spectra(spectra, out / "spectrum.png")
    advance(what="spectrum")
    return figs


def data_uri(png: Path) -> str:
    """A PNG as a data: URI, so report.html shows its figures when copied alone."""
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def method_pictures(run_dir: Path, cfg, spec, splits, samples: int, out: Path) -> dict[str, Path]:
    """The method's own pictures (inputs, views, reconstructions) and every sampler's masks."""
    batch = splits.test.batch(torch.arange(min(samples, len(splits.test))))
    method = build_method(cfg, spec)
    checkpoint.load_weights(method, checkpoint.latest(run_dir))
    method.eval()
    with torch.random.fork_rng():
        torch.manual_seed(cfg.train.seed)
        raw = batch[spec.modality]
        show = getattr(getattr(method.backbone, "tokenizer", None), "show", None)
        pictures = figures.image_grid(shown(method.pictures(batch), raw.shape, show), out / "pictures.png", samples)
        rows = shown(mask_rows(method, raw, cfg.mask, batch.get("mask_scores")), raw.shape, show)
        return {"pictures": pictures, "masks": figures.image_grid(rows, out / "masks.png", 4)}


def shown(rows: dict[str, torch.Tensor], raw_shape: torch.Size, show) -> dict[str, torch.Tensor]:
    """Rows shaped like the raw input drawn as images by the tokenizer's `show` (volumes as
    slices, clips as frames, motion as figures); other tokenizers' rows are pictures already."""
    return {k: show(v) if show is not None and v.shape == raw_shape else v for k, v in rows.items()}


def mask_rows(method: torch.nn.Module, images: torch.Tensor, mask_cfg, scores=None) -> dict[str, torch.Tensor]:
    """The same images under every registered sampler, at the run's mask ratio (samplers
    that need per-token scores appear only when the data has them)."""
    tokenizer = method.backbone.tokenizer
    rows = {
        "input": tokenizer.mask_input(images, torch.zeros(len(images), math.prod(tokenizer.grid), dtype=torch.bool))
    }
    for name in SAMPLERS.names():
        sampler = SAMPLERS.get(name)(mask_cfg)
        if getattr(sampler, "needs_scores", False) and scores is None:
            continue
        if len(tokenizer.grid) > getattr(sampler, "max_axes", len(tokenizer.grid)):
            continue  # a 2-D sampler on a 3-D grid (volumes, clips)
        plan = sampler(tokenizer.grid, len(images), scores=scores)
        rows[f"{name} mask"] = tokenizer.mask_input(images, plan.mask)
    return rows


def environment(run_dir: Path, records: list[dict[str, Any]], step: int) -> dict[str, str]:
    """The machines that trained the run, as recorded at training time (one column of
    facts per session: the first, then each resume), with its steps and wall time."""
    sessions = read_sessions(run_dir)
    wall = records[-1].get("elapsed_s") if records else None
    env: dict[str, str] = {}
    for i, s in enumerate(sessions):
        head = "trained" if i == 0 else f"resumed at step {s.get('from_step', '?')}"
        env[head] = str(s.get("started", "?"))
        for key in ("maskfuse", "python", "torch", "platform", "device", "torch_threads", "ranks"):
            if key in s:
                env[f"{key.replace('_', ' ')}" + ("" if i == 0 else f" ({head})")] = str(s[key])
    if not sessions:
        env["training machine"] = "not recorded (the run predates environment.json)"
    env["steps"] = str(step)
    env["training wall time"] = (
        f"{wall:.1f} s (the last session; a resumed run counts from its resume)" if wall else "n/a"
    )
    return env
