"""The experiments' plots (matplotlib, imported lazily with the Agg backend).

Functions take plain numbers and a path and return the path; curves carry error bands (mean ± std
over seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnnlab.plots import save_png


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    fig.tight_layout()
    save_png(fig, path, dpi=100)
    _pyplot().close(fig)
    return Path(path)


def accuracy_bars(
    labels: Sequence[str],
    means: Sequence[float],
    stds: Sequence[float],
    notes: Sequence[str],
    path: str | Path,
    title: str,
) -> Path:
    """Test accuracy per model as bars with error bars; ``notes`` (e.g. parameter counts) under each."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(labels), 3.6))
    x = np.arange(len(labels))
    ax.bar(x, 100 * np.asarray(means), yerr=100 * np.asarray(stds), capsize=5, color="#4c72b0", alpha=0.85)
    for xi, m, s in zip(x, means, stds):
        ax.text(xi, 100 * (m + s) + 1, f"{100 * m:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [f"{label}\n{n}" for label, n in zip(labels, notes)], fontsize=8)
    ax.set(ylabel="test accuracy (%)", ylim=(0, 105), title=title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def curve_panels(
    panels: Sequence[dict],
    path: str | Path,
    xlabel: str,
    ylabel: str = "test accuracy (%)",
    logx: bool = False,
    percent: bool = True,
) -> Path:
    """Side-by-side panels of curves with mean ± std bands.

    Args:
        panels: ``{"title": str, "series": [{"label", "x", "mean", "std", "style"?, "color"?}, ...]}`` each.
        path: the PNG to write.
        xlabel, ylabel: axis labels (shared by all panels).
        logx: logarithmic x axis (data efficiency, transfer).
        percent: multiply the values by 100.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(0.6 + 4.4 * len(panels), 3.6), squeeze=False, sharey=True)
    scale = 100.0 if percent else 1.0
    for ax, panel in zip(axes[0], panels):
        for series in panel["series"]:
            x = np.asarray(series["x"], dtype=float)
            mean, std = scale * np.asarray(series["mean"]), scale * np.asarray(series["std"])
            (line,) = ax.plot(
                x, mean, series.get("style", "-o"), markersize=3.5, label=series["label"], color=series.get("color")
            )
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.18, linewidth=0)
        if logx:
            ticks = sorted({float(v) for series in panel["series"] for v in series["x"]})
            ax.set_xscale("log")
            ax.set_xticks(ticks, [f"{t:,.0f}" for t in ticks])
            ax.minorticks_off()
        else:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(title=panel["title"], xlabel=xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(ylabel)
    return _save(fig, path)


def learning_curves(curves: dict[str, dict], path: str | Path, title: str) -> Path:
    """Train (solid) and validation (dashed) loss and accuracy per epoch, one colour per run label.

    Args:
        curves: label -> ``{"epoch": [...], "train_loss": {"mean", "std"}, "val_loss": ..., ...}``.
    """
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (label, c) in enumerate(curves.items()):
        colour = f"C{i % 10}"
        for prefix, style in (("train", "-"), ("val", "--")):
            for ax, metric, scale in ((ax_loss, "loss", 1.0), (ax_acc, "accuracy", 100.0)):
                key = f"{prefix}_{metric}"
                if key not in c:
                    continue
                mean, std = scale * np.asarray(c[key]["mean"]), scale * np.asarray(c[key]["std"])
                ax.plot(c["epoch"], mean, style, color=colour, label=f"{label} {prefix}")
                ax.fill_between(c["epoch"], mean - std, mean + std, color=colour, alpha=0.15, linewidth=0)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title=title, yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="solid: train, dashed: validation")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def filter_grid(
    arrays: np.ndarray,
    captions: Sequence[str],
    path: str | Path,
    title: str,
    columns: int = 8,
    cmap: str = "RdBu_r",
    symmetric: bool = True,
) -> Path:
    """Small 2-D arrays ``(N, h, w)`` as images (1-D arrays ``(N, k)`` as stem plots), captioned."""
    plt = _pyplot()
    arrays = np.asarray(arrays)
    n = len(arrays)
    columns = min(columns, max(n, 1))
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.7 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, a, caption in zip(axes.flat, arrays, captions):
        if a.ndim == 1:
            ax.axis("on")
            ax.axhline(0, color="grey", linewidth=0.5)
            ax.stem(np.arange(len(a)), a, basefmt=" ")
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            limit = float(np.abs(a).max()) or 1.0
            ax.imshow(a, cmap=cmap, vmin=-limit if symmetric else None, vmax=limit if symmetric else None)
        ax.set_title(caption, fontsize=6.5)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def receptive_field(
    image: np.ndarray, span: Sequence[tuple[int, int]], sensitivity: np.ndarray, path: str | Path, title: str
) -> Path:
    """The input with the unit's receptive field outlined, beside |d unit / d input|."""
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.6))
    if image.ndim == 1:
        for ax, values, label in ((axes[0], image, "input"), (axes[1], sensitivity, "|d unit / d input|")):
            ax.plot(values)
            ax.axvspan(span[0][0] - 0.5, span[0][1] - 0.5, color="orange", alpha=0.3, label="receptive field")
            ax.set_title(label, fontsize=9)
            ax.legend(fontsize=7)
    else:
        (y0, y1), (x0, x1) = span
        for ax, values, label, cmap in (
            (axes[0], image, "input", "gray_r"),
            (axes[1], sensitivity, "|d unit / d input|", "magma"),
        ):
            ax.imshow(values, cmap=cmap)
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="orange", linewidth=2))
            ax.set_title(label, fontsize=9)
            ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def vectors(rows: Sequence[np.ndarray], labels: Sequence[str], path: str | Path, title: str) -> Path:
    """Flat layer outputs (one 1-D vector per layer) as bar charts, one row each."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 1.3 * len(rows) + 0.5), squeeze=False)
    for ax, values, label in zip(axes[:, 0], rows, labels):
        ax.bar(np.arange(len(values)), values, width=1.0, color="#4c72b0")
        ax.set_title(label, fontsize=8)
        ax.set_xticks([] if len(values) > 20 else range(len(values)))
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
