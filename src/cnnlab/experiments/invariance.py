"""Translations: how accuracy falls when the test set is shifted, and exact invariance by design.

Two experiments:

* :func:`translation_robustness` -- accuracy on the test set shifted by 0..K pixels (zero fill and
  circular), for networks trained with and without translation augmentation. Each test example is
  moved K pixels in one direction drawn once per example (right/left/up/down; right/left for 1-D
  signals), so every K averages over directions.
* :func:`equivariance` -- the ``equivariant`` preset (circular padding, stride 1, global average
  pooling) gives the same logits for every circular shift of its input; its twin with 2x2 max
  pooling after the first two convs (total stride 4) does not, except for shifts that are multiples
  of 4. Measured as max |Δ logits| / max |logits| with random weights and, after training, as the
  fraction of predictions a shift changes and the accuracy on the shifted test set.

Example:
    >>> import torch
    >>> net = cnnlab_engine.build("equivariant", (1, 12, 12), num_classes=3, seed=0).double()
    >>> x = torch.randn(2, 1, 12, 12, dtype=torch.float64)
    >>> max(logit_change(net, x, [(5, 7), (11, 1)])) < 1e-12
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from cnnlab import engine as cnnlab_engine
from cnnlab.data.augment import shift
from cnnlab.data.dataset import Dataset
from cnnlab.data.normalization import normalize
from cnnlab.experiments import plots, report
from cnnlab.experiments.runner import Trained, accuracy, eval_subset, train
from cnnlab.model import Model
from cnnlab.train import TrainConfig
from cnnlab.train.device import to_device_of

#: The ``equivariant`` preset with 2x2 max pooling (stride 2) after each of its first two convs.
POOLED_TWIN = (
    "conv(16,5,p=2,mode=circular)-relu-maxpool(2)-conv(32,5,p=2,mode=circular)-relu-maxpool(2)"
    "-conv(32,5,p=2,mode=circular)-relu-gap-linear"
)
TWIN_STRIDE = 4
MODES = ("zeros", "circular")


def shift_each(x: torch.Tensor, k: int, mode: str, seed: int = 0) -> torch.Tensor:
    """Move every example ``k`` pixels in its own direction, drawn once per example from ``seed``.

    Shape:
        x: ``(N, C, H, W)`` (directions right, left, down, up) or ``(N, C, W)`` (right, left).

    Example:
        >>> x = torch.arange(8.).reshape(2, 1, 4)
        >>> shift_each(x, 1, "circular", seed=0)   # the first moves right, the second left
        tensor([[[3., 0., 1., 2.]],
        <BLANKLINE>
                [[5., 6., 7., 4.]]])
    """
    if k == 0:
        return x.clone()
    directions = [(1, 0), (-1, 0)] if x.dim() == 3 else [(1, 0), (-1, 0), (0, 1), (0, -1)]
    drawn = torch.randint(len(directions), (len(x),), generator=torch.Generator().manual_seed(seed))
    out = torch.empty_like(x)
    for d, (sx, sy) in enumerate(directions):
        index = (drawn == d).nonzero().flatten()
        if len(index):
            out[index] = shift(x[index], sx * k, sy * k, mode=mode)
    return out


def shifted_accuracies(model: Model, x: torch.Tensor, y: torch.Tensor, shifts: Sequence[int], mode: str) -> list[float]:
    """Accuracy on ``x`` (raw) with every example shifted by each ``k`` of ``shifts``."""
    return [accuracy(model, shift_each(x, k, mode), y) for k in shifts]


def default_max_shift(input_shape: Sequence[int]) -> int:
    """8 pixels, but at most half the width (4 for 8x8 digits)."""
    return min(8, input_shape[-1] // 2)


def default_augment_shift(input_shape: Sequence[int]) -> int:
    """About a seventh of the width: 4 pixels on 28x28, 6 on MNIST-1D, 1 on 8x8 digits."""
    return max(1, round(input_shape[-1] / 7))


@dataclass
class TranslationResult:
    """Accuracy vs shift, per model, with and without augmentation, for both fills."""

    dataset: str
    shifts: list[int]
    augment_shift: int
    eval_examples: int
    seeds: int
    curves: list[dict]  # {"model", "augmented", "mode", "mean": [...], "std": [...]}
    plots: list[str] = field(default_factory=list)

    def curve(self, model: str, augmented: bool, mode: str) -> dict:
        return next(c for c in self.curves if (c["model"], c["augmented"], c["mode"]) == (model, augmented, mode))

    def to_dict(self) -> dict:
        return dict(vars(self))

    def markdown(self) -> str:
        k = self.shifts[-1]
        shown = [s for s in dict.fromkeys((0, 1, 2, 4, k)) if s in self.shifts]
        rows = [
            [c["model"], "yes" if c["augmented"] else "no", c["mode"]]
            + [report.pm(c["mean"][s], c["std"][s]) for s in shown]
            for c in self.curves
        ]
        lines = [
            f"## Translation robustness ({self.dataset})",
            "",
            f"Each of {self.eval_examples} test examples shifted by 0..{k} pixels (one random direction per "
            f"example); augmentation = random shifts of up to {self.augment_shift} pixels during training; "
            f"mean ± std over {self.seeds} seed(s).",
            "",
            report.markdown_table(["model", "augmented", "fill"] + [f"{s} px" for s in shown], rows),
            "",
        ]
        for c in self.curves:
            if c["mode"] == "zeros" and not c["augmented"]:
                aug = self.curve(c["model"], True, "zeros")
                lines.append(
                    f"- {c['model']}: shifting the test images by {k} pixels (zero fill) takes accuracy from "
                    f"{report.pm(c['mean'][0], c['std'][0])} to {report.pm(c['mean'][-1], c['std'][-1])}; "
                    f"trained with augmentation it keeps {report.pm(aug['mean'][-1], aug['std'][-1])}."
                )
        return "\n".join(lines + ["", report.plot_links(self.plots, None)])


def translation_robustness(
    data: Dataset,
    specs: dict[str, str],
    base: TrainConfig,
    seeds: int = 1,
    max_shift: int | None = None,
    augment_shift: int | None = None,
    eval_examples: int = 2000,
    trained: dict[str, list[Trained]] | None = None,
    out=None,
    on_run=None,
) -> TranslationResult:
    """Accuracy vs test-set shift for each model, trained without and with translation augmentation.

    Args:
        data: the dataset.
        specs: label -> preset or spec text.
        base: the training recipe (``model``, ``seed`` and ``augment_shift`` are set per run).
        seeds: runs per (model, augmentation).
        max_shift: largest test shift K (default :func:`default_max_shift`).
        augment_shift: training shifts up to this many pixels (default :func:`default_augment_shift`).
        eval_examples: test examples used (the same ones for every shift).
        trained: already trained networks without augmentation (label -> one per seed), reused.
        out: folder for ``translation.png`` (None: no plot).
        on_run: called after each training run (progress bars).
    """
    max_shift = default_max_shift(data.input_shape) if max_shift is None else max_shift
    augment_shift = default_augment_shift(data.input_shape) if augment_shift is None else augment_shift
    shifts = list(range(max_shift + 1))
    x, y = eval_subset(data.x_test, data.y_test, eval_examples)
    curves = []
    for label, spec in specs.items():
        for augmented in (False, True):
            models = []
            for seed in range(seeds):
                reuse = trained.get(label, []) if trained and not augmented else []
                if seed < len(reuse):
                    models.append(reuse[seed].model)
                    continue
                cfg = base.replace(model=spec, seed=seed, augment_shift=augment_shift if augmented else 0)
                models.append(train(cfg, data).model)
                if on_run:
                    on_run()
            for mode in MODES:
                per_seed = [shifted_accuracies(model, x, y, shifts, mode) for model in models]
                stats = [report.mean_std(values) for values in zip(*per_seed)]
                curves.append(
                    {
                        "model": label,
                        "augmented": augmented,
                        "mode": mode,
                        "mean": [m for m, _ in stats],
                        "std": [s for _, s in stats],
                    }
                )
    result = TranslationResult(data.name, shifts, augment_shift, len(y), seeds, curves)
    if out is not None:
        result.plots.append(str(plot_translation(result, out / "translation.png")))
    return result


def plot_translation(result: TranslationResult, path) -> Path:
    """Accuracy vs shift, one panel per fill; one colour per model, dashed without augmentation."""
    models = list(dict.fromkeys(c["model"] for c in result.curves))
    panels = [
        {
            "title": f"{result.dataset}: {mode} fill",
            "series": [
                {
                    "label": c["model"] + (f" + augmentation ±{result.augment_shift} px" if c["augmented"] else ""),
                    "x": result.shifts,
                    "mean": c["mean"],
                    "std": c["std"],
                    "style": "-o" if c["augmented"] else "--s",
                    "color": f"C{models.index(c['model']) % 10}",
                }
                for c in result.curves
                if c["mode"] == mode
            ],
        }
        for mode in MODES
    ]
    return plots.curve_panels(panels, path, "shift (pixels)")


@torch.inference_mode()
def logit_change(net: torch.nn.Module, x: torch.Tensor, shifts: Sequence[tuple[int, int]]) -> list[float]:
    """max |f(roll(x)) - f(x)| / max |f(x)| for each circular shift ``(dx, dy)`` (dy ignored for 1-D)."""
    net.eval()
    x = to_device_of(net, x)
    reference = net(x)
    scale = reference.abs().max().item() or 1.0
    out = []
    for dx, dy in shifts:
        moved = shift(x, dx, 0 if x.dim() == 3 else dy, mode="circular")
        out.append((net(moved) - reference).abs().max().item() / scale)
    return out


@dataclass
class EquivarianceResult:
    """Invariance of the ``equivariant`` preset and of its max-pooling twin under circular shifts."""

    dataset: str
    shifts: list[int]
    specs: dict[str, str]
    random_logit_change: dict[str, list[float]]  # label -> per shift (random weights, float64)
    trained: dict[str, dict]  # label -> {"accuracy", "flipped", "logit_change"} per shift
    eval_examples: int
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(vars(self))

    def _cost(self) -> str:
        """Whether exact invariance cost accuracy on the unshifted test set."""
        eq, tw = self.trained["equivariant"]["accuracy"][0], self.trained["maxpool twin"]["accuracy"][0]
        scores = f"unshifted, the equivariant net scores {100 * eq:.1f} % and its max-pooling twin {100 * tw:.1f} %"
        if eq < tw - 0.01:
            return (
                f"Invariance by design is not free here: {scores} (the global average throws away where, "
                "within the input, the features were)."
            )
        return f"Here invariance costs no accuracy: {scores}."

    def markdown(self) -> str:
        eq, tw = self.random_logit_change["equivariant"], self.random_logit_change["maxpool twin"]
        odd = [c for k, c in zip(self.shifts, tw) if k % TWIN_STRIDE]
        lines = [
            f"## Exact translation invariance ({self.dataset})",
            "",
            f"Circular shifts along x by 0..{self.shifts[-1]} pixels, {self.eval_examples} test inputs.",
            "",
            f"- `equivariant` (circular padding, stride 1, global average pooling): largest relative logit "
            f"change {max(eq):.1e} (float64, random weights) -- invariant up to rounding.",
            f"- its twin with two 2x2 max pools (stride 4 in total): {max(odd):.2f} for shifts that are not "
            f"multiples of {TWIN_STRIDE}, and {max(c for k, c in zip(self.shifts, tw) if k % TWIN_STRIDE == 0):.1e} "
            f"for multiples of {TWIN_STRIDE} (the pooling grid lines up again).",
        ]
        if self.trained:
            rows = [
                [k]
                + [
                    f"{100 * self.trained[label]['accuracy'][i]:.1f} % / {100 * self.trained[label]['flipped'][i]:.1f} %"
                    for label in self.trained
                ]
                for i, k in enumerate(self.shifts)
            ]
            worst = max(self.trained["maxpool twin"]["flipped"])
            lines += [
                "",
                f"After training: accuracy on the shifted test set / predictions changed by the shift. "
                f"The max-pooling net changes up to {100 * worst:.1f} % of its predictions; the equivariant "
                f"net changes {100 * max(self.trained['equivariant']['flipped']):.2f} %. {self._cost()}",
                "",
                report.markdown_table(["shift (px)"] + list(self.trained), rows),
            ]
        return "\n".join(lines + ["", report.plot_links(self.plots, None)])


def equivariance(
    data: Dataset,
    base: TrainConfig | None = None,
    max_shift: int | None = None,
    eval_examples: int = 1000,
    out=None,
    on_run=None,
) -> EquivarianceResult:
    """Measure how exactly the ``equivariant`` preset and its max-pooling twin ignore circular shifts.

    Args:
        data: the dataset (its test inputs are the probes).
        base: training recipe; None = random weights only (no training).
        max_shift: shifts 0..max_shift along x (default :func:`default_max_shift`).
        eval_examples: test examples used.
        out: folder for ``equivariance.png``.
        on_run: called after each training run.
    """
    max_shift = default_max_shift(data.input_shape) if max_shift is None else max_shift
    shifts = list(range(max_shift + 1))
    specs = {"equivariant": "equivariant", "maxpool twin": POOLED_TWIN}
    x, y = eval_subset(data.x_test, data.y_test, eval_examples)
    probe = normalize(x[:16], data.mean, data.std).double()
    random_change, trained = {}, {}
    for label, spec in specs.items():
        net = cnnlab_engine.build(spec, data.input_shape, data.num_classes, seed=0).double()
        random_change[label] = logit_change(net, probe, [(k, 0) for k in shifts])
        if base is None:
            continue
        model = train(base.replace(model=spec, seed=0), data).model
        if on_run:
            on_run()
        pred = model.predict_logits(x).argmax(1)
        # A circular shift commutes with the per-channel normalisation, so shifting raw inputs is exact.
        moved = [model.predict_logits(shift(x, k, mode="circular")) for k in shifts]
        trained[label] = {
            "accuracy": [(m.argmax(1) == y).float().mean().item() for m in moved],
            "flipped": [(m.argmax(1) != pred).float().mean().item() for m in moved],
            "logit_change": logit_change(model.net, model.normalize(x[:256]), [(k, 0) for k in shifts]),
        }
    result = EquivarianceResult(data.name, shifts, specs, random_change, trained, len(y))
    if out is not None and trained:
        panels = [
            {
                "title": "predictions changed by a circular shift",
                "series": [
                    {"label": label, "x": shifts, "mean": t["flipped"], "std": [0.0] * len(shifts)}
                    for label, t in trained.items()
                ],
            },
            {
                "title": "accuracy on the circularly shifted test set",
                "series": [
                    {"label": label, "x": shifts, "mean": t["accuracy"], "std": [0.0] * len(shifts)}
                    for label, t in trained.items()
                ],
            },
        ]
        result.plots.append(
            str(plots.curve_panels(panels, out / "equivariance.png", "circular shift (pixels)", ylabel="%"))
        )
    return result
