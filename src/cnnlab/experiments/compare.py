"""DNNs vs CNNs in action: models x seeds, or optimizers x seeds on one model.

``compare(CompareConfig(dataset="mnist1d", models=("logreg", "mlp", "cnn"), seeds=5))`` trains each
model with the experiments' recipe (:func:`cnnlab.experiments.runner.recipe`) once per seed and
reports test accuracy mean ± std, parameters and training time. With ``optimizers`` it trains one
model with each optimizer at its usual learning rate and no schedule (the course's exercise), holds
out 10 % for validation and plots the learning curves. The translation-robustness, data-efficiency
and equivariance sub-experiments (:mod:`~cnnlab.experiments.invariance`,
:mod:`~cnnlab.experiments.efficiency`) are switched on by flags, so the default stays quick.

Example:
    >>> result = compare(CompareConfig(dataset="digits", models=("logreg",), seeds=2, epochs=1))
    >>> row = result.summary[0]
    >>> row["label"], row["params"], row["test_accuracy"]["n"]
    ('logreg', 650, 2)
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from cnnlab.data import load_dataset
from cnnlab.data.dataset import Dataset
from cnnlab.experiments import efficiency, invariance, plots, report
from cnnlab.experiments.runner import check_counts, model_spec, recipe, train
from cnnlab.io import make_folder
from cnnlab.train.config import OPTIMIZERS

#: The documented range of each count (runs, shifts, examples): the work a comparison does is bounded.
BOUNDS = {"seeds": (1, 100), "eval_examples": (1, 10**6), "sizes": (1, 10**9), "max_shift": (0, 256)}

#: Greydanus & Kobak (2020), Table 1: test accuracy on MNIST-1D.
PUBLISHED = {"mnist1d": {"logreg": 0.32, "mlp": 0.68, "cnn": 0.94}}


@dataclass(frozen=True)
class CompareConfig:
    """What :func:`compare` runs (saved in ``result.json``).

    Attributes:
        dataset, data_dir: the dataset (see ``cnnlab datasets``) and an optional folder with its files.
        models: model names (:mod:`cnnlab.experiments.runner`); empty = ``logreg, mlp, cnn``, or
            ``mlp`` in optimizers mode.
        seeds: training runs per model (seeds 0..seeds-1): the error bars.
        optimizers: non-empty = optimizers mode (one model, one run per optimizer and seed).
        epochs, lr, batch_size, train_subset, threads: override the recipe (None = recipe's).
        translation, data_efficiency, equivariance: run those sub-experiments too.
        max_shift, augment_shift, sizes, eval_examples: their settings (None/empty = defaults).
    """

    dataset: str = "mnist1d"
    data_dir: str | None = None
    models: tuple[str, ...] = ()
    seeds: int = 3
    optimizers: tuple[str, ...] = ()
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    train_subset: int | None = None
    threads: int | None = None
    translation: bool = False
    data_efficiency: bool = False
    equivariance: bool = False
    max_shift: int | None = None
    augment_shift: int | None = None
    sizes: tuple[int, ...] = ()
    eval_examples: int = 2000

    @property
    def model_names(self) -> tuple[str, ...]:
        if self.models:
            return tuple(self.models)
        return ("mlp",) if self.optimizers else ("logreg", "mlp", "cnn")

    def validate(self) -> CompareConfig:
        """Check the settings against their documented bounds (:data:`BOUNDS`); returns self."""
        if not isinstance(self.seeds, int) or isinstance(self.seeds, bool) or self.seeds < 1:
            raise ValueError(f"seeds must be an integer >= 1, got {self.seeds!r}")
        check_counts(
            {"seeds": self.seeds, "eval_examples": self.eval_examples, "sizes": self.sizes}
            | ({"max_shift": self.max_shift} if self.max_shift is not None else {}),
            BOUNDS,
        )
        if len(self.models) > 16 or len(self.sizes) > 16:
            raise ValueError(f"at most 16 models and 16 sizes, got {len(self.models)} and {len(self.sizes)}")
        unknown = [o for o in self.optimizers if o not in OPTIMIZERS]
        if unknown:
            raise ValueError(f"unknown optimizer(s) {', '.join(unknown)}; valid: {', '.join(OPTIMIZERS)}")
        if self.optimizers and len(self.model_names) != 1:
            raise ValueError(
                f"optimizers mode compares optimizers on one model; got models {', '.join(self.model_names)}"
            )
        if self.optimizers and (self.translation or self.data_efficiency or self.equivariance):
            raise ValueError(
                "translation, data_efficiency and equivariance go with a models comparison, not with optimizers"
            )
        return self


@dataclass
class CompareResult:
    """Per-run rows, per-model (or per-optimizer) summaries, sub-experiments and plots."""

    config: dict
    dataset: str
    mode: str  # "models" or "optimizers"
    recipe: dict  # the TrainConfig common to all runs
    runs: list[dict]
    summary: list[dict]
    translation: invariance.TranslationResult | None = None
    data_efficiency: efficiency.EfficiencyResult | None = None
    equivariance: invariance.EquivarianceResult | None = None
    plots: list[str] = field(default_factory=list)
    out: str | None = None

    def to_dict(self) -> dict:
        d = {k: v for k, v in vars(self).items() if k not in ("translation", "data_efficiency", "equivariance")}
        for key in ("translation", "data_efficiency", "equivariance"):
            value = getattr(self, key)
            d[key] = value.to_dict() if value is not None else None
        return d

    def row(self, label: str) -> dict:
        return next(r for r in self.summary if r["label"] == label)

    def lines(self) -> list[str]:
        """The table the CLI prints."""
        head = f"{'model' if self.mode == 'models' else 'optimizer':<12} {'test accuracy':>16} {'params':>10} {'train s':>8}  spec"
        out = [head]
        for r in self.summary:
            a = r["test_accuracy"]
            out.append(
                f"{r['label']:<12} {report.pm(a['mean'], a['std']):>16} {r['params']:>10,} "
                f"{r['train_seconds']['mean']:>8.1f}  {r['spec']}"
            )
        return out

    def markdown(self) -> str:
        what = "models" if self.mode == "models" else f"optimizers on `{self.summary[0]['spec']}`"
        n = self.summary[0]["test_accuracy"]["n"]
        rows = [
            [
                r["label"],
                report.pm(r["test_accuracy"]["mean"], r["test_accuracy"]["std"]),
                f"{r['params']:,}",
                f"{r['train_seconds']['mean']:.1f}",
                f"`{r['spec']}`",
            ]
            for r in self.summary
        ]
        lines = [
            f"# Comparison of {what} on {self.dataset}",
            "",
            f"Test accuracy mean ± std over {n} seed(s) (sample standard deviation); recipe: "
            f"{self.recipe['optimizer']} lr {self.recipe['lr']}, {self.recipe['schedule']} schedule, "
            f"{self.recipe['epochs']} epochs, batch {self.recipe['batch_size']}"
            + (f", first {self.recipe['train_subset']:,} training examples" if self.recipe["train_subset"] else "")
            + ".",
            "",
            report.markdown_table([self.mode[:-1], "test accuracy", "parameters", "train seconds", "spec"], rows),
            "",
        ]
        lines += self._conclusions()
        lines += ["", report.plot_links(self.plots, self.out)]
        for sub in (self.translation, self.data_efficiency, self.equivariance):
            if sub is not None:
                lines += ["", sub.markdown()]
        return "\n".join(lines)

    def _conclusions(self) -> list[str]:
        best = max(self.summary, key=lambda r: r["test_accuracy"]["mean"])
        out = [
            f"Best: **{best['label']}** with {report.pm(best['test_accuracy']['mean'], best['test_accuracy']['std'])} "
            f"test accuracy ({best['params']:,} parameters)."
        ]
        for r in self.summary:
            if r is best:
                continue
            gap = best["test_accuracy"]["mean"] - r["test_accuracy"]["mean"]
            sure = "more than" if report.separated(best["test_accuracy"], r["test_accuracy"]) else "within"
            out.append(
                f"- {r['label']}: {100 * gap:.1f} points lower ({sure} the combined error bars), "
                f"{r['params'] / best['params']:.2g}x the parameters of {best['label']}."
            )
        published = PUBLISHED.get(self.dataset, {})
        if self.mode == "models" and published:
            out += [
                "",
                "Published (Greydanus & Kobak 2020): "
                + ", ".join(f"{k} {100 * v:.0f} %" for k, v in published.items())
                + "; measured here: "
                + ", ".join(
                    f"{k} {100 * self.row(k)['test_accuracy']['mean']:.1f} %"
                    for k in published
                    if any(r["label"] == k for r in self.summary)
                )
                + ".",
            ]
        return out


def compare(
    config: CompareConfig,
    data: Dataset | None = None,
    out: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool | None = None,
) -> CompareResult:
    """Train and compare; writes ``result.json``, ``report.md`` and plots into ``out`` when given.

    Args:
        config: what to run.
        data: an already loaded dataset (else ``config.dataset`` is loaded).
        out: run folder (None: nothing written).
        log: receives one line per finished run.
        progress: a tqdm bar over runs on stderr (default: when stderr is a terminal).
    """
    config.validate()
    data = data if data is not None else load_dataset(config.dataset, data_dir=config.data_dir)
    specs = {name: model_spec(name, data.input_shape) for name in config.model_names}
    base = recipe(
        data,
        epochs=config.epochs,
        lr=config.lr,
        batch_size=config.batch_size,
        train_subset=config.train_subset,
        threads=config.threads,
    )
    if config.optimizers:
        # The course's exercise: each optimizer at its usual learning rate, no schedule, a validation split.
        base = base.replace(schedule="none", val_split=0.1, lr=config.lr)
    out = Path(out) if out is not None else None
    if out is not None:
        make_folder(out)
    log = log or (lambda line: None)
    labels = list(config.optimizers) or list(specs)
    total = (
        len(labels) * config.seeds * (1 + config.translation)
        + config.equivariance * 2
        + (
            len(specs) * config.seeds * len(config.sizes or efficiency.default_sizes(len(data.y_train)))
            if config.data_efficiency
            else 0
        )
    )
    bar = tqdm(
        total=total,
        desc="compare",
        unit="run",
        file=sys.stderr,
        disable=not (sys.stderr.isatty() if progress is None else progress),
    )
    runs: list[dict] = []
    trained: dict[str, Any] = {}
    for label in labels:
        spec = specs[config.model_names[0]] if config.optimizers else specs[label]
        for seed in range(config.seeds):
            cfg = base.replace(model=spec, seed=seed, **({"optimizer": label} if config.optimizers else {}))
            run = train(cfg, data)
            trained.setdefault(label, []).append(run)
            f = run.final
            runs.append(
                {
                    "label": label,
                    "spec": spec,
                    "seed": seed,
                    "optimizer": cfg.optimizer,
                    "lr": cfg.resolved_lr,
                    "test_accuracy": f["test_accuracy"],
                    "test_loss": f["test_loss"],
                    "params": f["params"],
                    "train_seconds": f["train_seconds"],
                    "history": run.history.epochs,
                }
            )
            log(f"{label:<12} seed {seed}  test accuracy {f['test_accuracy']:.4f}  {f['train_seconds']:.1f}s")
            bar.update()
    summary = [_summarize(label, [r for r in runs if r["label"] == label]) for label in labels]
    result = CompareResult(
        dataclasses.asdict(config),
        data.name,
        "optimizers" if config.optimizers else "models",
        base.to_dict(),
        runs,
        summary,
        out=str(out) if out is not None else None,
    )
    if out is not None:
        title = f"{data.name}: test accuracy, mean ± std over {config.seeds} seed(s)"
        result.plots.append(
            str(
                plots.accuracy_bars(
                    labels,
                    [r["test_accuracy"]["mean"] for r in summary],
                    [r["test_accuracy"]["std"] for r in summary],
                    [f"{r['params']:,} params" for r in summary],
                    out / "accuracy.png",
                    title,
                )
            )
        )
        if config.optimizers:
            curves = {r["label"]: r["curves"] for r in summary}
            result.plots.append(str(plots.learning_curves(curves, out / "learning_curves.png", f"{data.name}: {spec}")))
    done = [0]

    def on_run() -> None:
        done[0] += 1
        bar.update()
        log(f"  sub-experiment runs: {done[0]} of {total - len(runs)}")

    sub: dict[str, Any] = dict(out=out, on_run=on_run)
    if config.translation:
        result.translation = invariance.translation_robustness(
            data,
            specs,
            base,
            config.seeds,
            config.max_shift,
            config.augment_shift,
            config.eval_examples,
            trained=trained,
            **sub,
        )
    if config.data_efficiency:
        result.data_efficiency = efficiency.data_efficiency(
            data, specs, base, config.seeds, config.sizes or None, **sub
        )
    if config.equivariance:
        eq_base = base.replace(train_subset=min(len(data.y_train), 10_000)) if len(data.y_train) > 10_000 else base
        result.equivariance = invariance.equivariance(
            data, eq_base, config.max_shift, min(config.eval_examples, 1000), **sub
        )
    bar.close()
    if out is not None:
        report.save(result, out)
    return result


def _summarize(label: str, runs: list[dict]) -> dict:
    """Mean ± std of the metrics of one label's runs, and mean learning curves over seeds."""
    first = runs[0]
    row = {
        "label": label,
        "spec": first["spec"],
        "optimizer": first["optimizer"],
        "lr": first["lr"],
        "params": first["params"],
    }
    for key in ("test_accuracy", "test_loss", "train_seconds"):
        row[key] = report.summarize_values([r[key] for r in runs])
    epochs = [rec["epoch"] for rec in first["history"]]
    curves: dict[str, Any] = {"epoch": epochs}
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        if all(key in rec for r in runs for rec in r["history"]):
            stats = [report.mean_std(values) for values in zip(*[[rec[key] for rec in r["history"]] for r in runs])]
            curves[key] = {"mean": [m for m, _ in stats], "std": [s for _, s in stats]}
    row["curves"] = curves
    return row
