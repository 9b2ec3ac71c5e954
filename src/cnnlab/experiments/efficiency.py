"""Data efficiency: test accuracy against the number of training examples, per model.

A small training set gets more epochs, so that every run takes at least ``min_steps`` optimizer
steps (:func:`cnnlab.experiments.runner.epochs_for`); otherwise 100 examples would see one step per
epoch and the comparison would measure the step count, not the data.

Example:
    >>> default_sizes(4000)
    [100, 1000, 4000]
    >>> default_sizes(60000)
    [100, 1000, 10000, 60000]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnlab.data.dataset import Dataset
from cnnlab.experiments import plots, report
from cnnlab.experiments.runner import epochs_for, train
from cnnlab.train import TrainConfig


def default_sizes(n_train: int) -> list[int]:
    """100, 1k, 10k examples (those below the training-set size) and all of them."""
    return sorted({s for s in (100, 1000, 10_000) if s < n_train} | {n_train})


@dataclass
class EfficiencyResult:
    """Accuracy (mean ± std over seeds) per model and training-set size."""

    dataset: str
    sizes: list[int]
    epochs: list[int]
    seeds: int
    curves: dict[str, dict]  # label -> {"mean": [...], "std": [...], "values": [[per seed] per size]}
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(vars(self))

    def markdown(self) -> str:
        rows = [[label] + [report.pm(m, s) for m, s in zip(c["mean"], c["std"])] for label, c in self.curves.items()]
        lines = [
            f"## Data efficiency ({self.dataset})",
            "",
            f"Test accuracy against the number of training examples (mean ± std over {self.seeds} seed(s); "
            f"epochs per size {self.epochs}, so that small sets still get enough optimizer steps).",
            "",
            report.markdown_table(["model"] + [f"n = {n:,}" for n in self.sizes], rows),
            "",
        ]
        best_small = max(self.curves, key=lambda label: self.curves[label]["mean"][0])
        lines.append(
            f"With only {self.sizes[0]:,} examples the best model is {best_small} "
            f"({report.pm(self.curves[best_small]['mean'][0], self.curves[best_small]['std'][0])})."
        )
        for label, c in self.curves.items():
            target = 0.9 * c["mean"][-1]
            reached = next((n for n, m in zip(self.sizes, c["mean"]) if m >= target), self.sizes[-1])
            lines.append(
                f"- {label}: 90 % of its full-data accuracy ({100 * target:.1f} %) is reached with "
                f"{reached:,} examples."
            )
        return "\n".join(lines + ["", report.plot_links(self.plots, None)])


def data_efficiency(
    data: Dataset,
    specs: dict[str, str],
    base: TrainConfig,
    seeds: int = 1,
    sizes: Sequence[int] | None = None,
    min_steps: int = 300,
    out=None,
    on_run=None,
) -> EfficiencyResult:
    """Train every model on the first ``n`` (shuffled) training examples for each ``n`` in ``sizes``.

    Args:
        data: the dataset.
        specs: label -> preset or spec text.
        base: the training recipe (``model``, ``seed``, ``train_subset``, ``epochs`` set per run).
        seeds: runs per (model, size); the seed also picks which ``n`` examples are used.
        sizes: training-set sizes (default :func:`default_sizes`).
        min_steps: every run takes at least this many optimizer steps.
        out: folder for ``data_efficiency.png``.
        on_run: called after each training run.
    """
    n_train = len(data.y_train) - round(base.val_split * len(data.y_train))
    sizes = default_sizes(n_train) if sizes is None else sorted({int(s) for s in sizes})
    bad = [s for s in sizes if not 1 <= s <= n_train]
    if bad:
        raise ValueError(f"sizes must be between 1 and {n_train} (training examples available), got {bad}")
    epochs = [epochs_for(n, base.batch_size, base.epochs, min_steps) for n in sizes]
    curves = {}
    for label, spec in specs.items():
        per_size = []
        for n, n_epochs in zip(sizes, epochs):
            values = []
            for seed in range(seeds):
                cfg = base.replace(model=spec, seed=seed, train_subset=0 if n == n_train else n, epochs=n_epochs)
                values.append(train(cfg, data).final["test_accuracy"])
                if on_run:
                    on_run()
            per_size.append(values)
        stats = [report.mean_std(v) for v in per_size]
        curves[label] = {"mean": [m for m, _ in stats], "std": [s for _, s in stats], "values": per_size}
    result = EfficiencyResult(data.name, sizes, epochs, seeds, curves)
    if out is not None:
        panel = {
            "title": f"{data.name}: accuracy vs training examples",
            "series": [{"label": label, "x": sizes, "mean": c["mean"], "std": c["std"]} for label, c in curves.items()],
        }
        result.plots.append(
            str(plots.curve_panels([panel], out / "data_efficiency.png", "training examples", logx=True))
        )
    return result
