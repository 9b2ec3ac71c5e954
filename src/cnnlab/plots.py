"""Plots written into run folders (matplotlib, imported lazily with the Agg backend).

The core never imports this module at import time; functions here take plain data and a path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cnnlab.io import atomic_write


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | Path, **kwargs) -> None:
    """``fig.savefig`` as a PNG through :func:`cnnlab.io.atomic_write` (a killed write never leaves half an image)."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", **kwargs))


def _save(fig, path: str | Path) -> None:
    save_png(fig, path, dpi=100)


def learning_curve(records: Sequence[dict], path: str | Path, title: str = "learning curve") -> Path:
    """Loss and accuracy per epoch (train, and validation/test when present) side by side."""
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = [r["epoch"] for r in records]
    for prefix, style in (("train", "-o"), ("val", "--s"), ("test", ":^")):
        for ax, metric in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            points = [(e, r[f"{prefix}_{metric}"]) for e, r in zip(epochs, records) if f"{prefix}_{metric}" in r]
            if points:
                ax.plot(*zip(*points), style, label=prefix, markersize=4)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title=title)
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)


def confusion_matrix(matrix, classes: Sequence[str], path: str | Path, title: str = "confusion matrix") -> Path:
    """Counts of (true class, predicted class), with the numbers written in the cells."""
    plt = _pyplot()
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * n, 0.8 + 0.5 * n))
    ax.imshow(matrix, cmap="Blues")
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xticklabels=classes,
        yticklabels=classes,
        xlabel="predicted",
        ylabel="true",
        title=title,
    )
    high = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                int(matrix[i][j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if matrix[i][j] > high else "black",
            )
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)


def image_grid(images, captions: Sequence[str], path: str | Path, columns: int = 8, title: str = "") -> Path:
    """Grey-level images (N, H, W) in a grid with a caption under each."""
    plt = _pyplot()
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.6 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(caption, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
    return Path(path)
