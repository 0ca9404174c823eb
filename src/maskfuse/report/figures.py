"""Figures for the report, drawn with matplotlib's Agg backend into PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def curves(records: list[dict], path: Path) -> Path:
    """Loss and learning rate against the step, and every online monitor."""
    monitors = sorted({k for r in records for k in r if k.startswith("monitor/") and k != "monitor/collapse"})
    fig, axes = plt.subplots(1, 1 + len(monitors), figsize=(4.2 * (1 + len(monitors)), 3.2), squeeze=False)
    ax = axes[0, 0]
    steps = [r["step"] for r in records if "loss" in r]
    ax.plot(steps, [r["loss"] for r in records if "loss" in r], color="tab:blue")
    ax.set(title="training loss", xlabel="step", ylabel="loss")
    lr_ax = ax.twinx()
    lr_ax.plot(steps, [r["lr"] for r in records if "loss" in r], color="tab:gray", alpha=0.5, lw=1)
    lr_ax.set_ylabel("learning rate", color="tab:gray")
    for ax, key in zip(axes[0, 1:], monitors):
        pts = [(r["step"], r[key]) for r in records if key in r]
        ax.plot(*zip(*pts), marker="o", color="tab:green")
        ax.set(title=f"online {key.split('/')[1]}", xlabel="step")
    return _save(fig, path)


def _show(ax: plt.Axes, sample: torch.Tensor) -> None:
    """Draw one sample: an image [C, H, W] in [0, 1], or a signal [C, T] / [T] as lines (NaN = gap)."""
    x = sample.detach().float().cpu()
    if x.dim() == 1:  # one row of a table: its features as one line
        x = x[None]
    if x.dim() == 2:
        for channel in x[:4]:  # at most four channels stay readable in a small panel
            ax.plot(channel.numpy(), lw=0.8)
    elif x.shape[0] == 3:
        ax.imshow(x.clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")
    else:  # grey, or more than three channels: show the first as grey
        ax.imshow(x[0].clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid(rows: dict[str, torch.Tensor], path: Path, columns: int = 8) -> Path:
    """One row per named set of images or signals (e.g. input / masked / reconstruction),
    `columns` samples."""
    n = min(columns, min(len(v) for v in rows.values()))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n, 1.4 * len(rows)), squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(n):
            _show(axes[r, c], images[c])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    return _save(fig, path)


def embedding_map(
    points: np.ndarray, labels: np.ndarray | None, names: tuple[str, ...], title: str, path: Path
) -> Path:
    """A 2-D scatter of embeddings, coloured by label when there are labels."""
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6)
    else:
        cmap = plt.get_cmap("tab10" if labels.max() < 10 else "tab20")
        for c in np.unique(labels):
            sel = labels == c
            name = names[c] if c < len(names) else str(c)
            ax.scatter(points[sel, 0], points[sel, 1], s=4, alpha=0.7, color=cmap(int(c) % cmap.N), label=name)
        ax.legend(markerscale=3, fontsize=8, loc="best", ncol=2 if len(np.unique(labels)) > 6 else 1)
    ax.set(title=title, xticks=[], yticks=[])
    return _save(fig, path)


def spectra(per_row: dict[str, list[float]], path: Path) -> Path:
    """Covariance eigenvalue shares of each feature set, log scale: collapse shows as a cliff."""
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    for name, values in per_row.items():
        ax.semilogy(np.arange(1, len(values) + 1), np.clip(values, 1e-12, None), label=name)
    ax.set(title="embedding covariance spectrum", xlabel="component", ylabel="share of variance")
    ax.legend(fontsize=8)
    return _save(fig, path)


def overlaid_curves(per_run: dict[str, list[dict]], path: Path) -> Path:
    """Loss and every online monitor against the step, one line per run, for comparing runs."""
    keys = ["loss", *sorted({k for recs in per_run.values() for r in recs for k in r
                             if k.startswith("monitor/") and k != "monitor/collapse"})]  # fmt: skip
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, records in per_run.items():
            pts = [(r["step"], r[key]) for r in records if key in r]
            if pts:
                ax.plot(*zip(*pts), label=name, marker="o" if key != "loss" else None, lw=1.2)
        ax.set(title="training loss" if key == "loss" else f"online {key.split('/')[1]}", xlabel="step")
    axes[0, 0].legend(fontsize=7)
    return _save(fig, path)
