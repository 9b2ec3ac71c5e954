"""Transfer learning: reuse convolutional features learned on one task for another with few labels.

The network is pretrained on the source dataset's classes ``0 .. split-1`` (MNIST digits 0-4 by
default). Then, for ``n`` labelled examples per class, it learns a target task three ways:

* ``frozen``   -- the pretrained feature layers (everything up to the ``flatten``/``gap``) are frozen,
  BatchNorm statistics included; a new classifier head is trained on top;
* ``finetune`` -- the same start, but every layer keeps training;
* ``scratch``  -- the same architecture from random weights.

Targets: the source's other classes (MNIST 5-9), and other datasets resized to the source's input
(scikit-learn's 8x8 digits become 20x20 digits centred in 28x28, as MNIST's are; Fashion-MNIST and
KMNIST when their files are in the cache or given as ``name=DIR``). Every target is normalised with
the source's statistics, since the pretrained filters expect them.

Example:
    >>> from cnnlab.data import load_dataset
    >>> low = class_subset(load_dataset("digits"), range(5))
    >>> low.classes, int(low.y_train.max())
    (['0', '1', '2', '3', '4'], 4)
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from cnnlab import spec as S
from cnnlab.data import load_dataset
from cnnlab.data.dataset import Dataset
from cnnlab.engine import Network
from cnnlab.experiments import plots, report
from cnnlab.experiments.runner import Trained, check_counts, epochs_for, eval_subset, model_spec, recipe, train
from cnnlab.io import make_folder
from cnnlab.train import TrainConfig, Trainer
from cnnlab.train.optim import make_optimizer

MODES = ("frozen", "finetune", "scratch")


def class_subset(data: Dataset, classes: Iterable[int], name: str | None = None) -> Dataset:
    """The examples of some classes, relabelled ``0 .. len(classes)-1`` in the order given."""
    classes = list(classes)
    bad = [c for c in classes if not 0 <= c < data.num_classes]
    if bad or not classes:
        raise ValueError(f"classes must be a non-empty list of labels in [0, {data.num_classes}), got {classes}")
    lookup = torch.full((data.num_classes,), -1, dtype=torch.int64)
    lookup[torch.tensor(classes)] = torch.arange(len(classes))
    keep_train, keep_test = lookup[data.y_train] >= 0, lookup[data.y_test] >= 0
    return Dataset(
        name or f"{data.name}[{','.join(data.classes[c] for c in classes)}]",
        data.x_train[keep_train],
        lookup[data.y_train[keep_train]],
        data.x_test[keep_test],
        lookup[data.y_test[keep_test]],
        [data.classes[c] for c in classes],
        meta=dict(data.meta, classes=classes),
    )


def per_class(
    data: Dataset, n: int, seed: int, test_examples: int = 0, normalization: Dataset | None = None
) -> Dataset:
    """``n`` random training examples of each class (seeded); the test set capped at ``test_examples``.

    ``normalization``: a dataset whose ``mean``/``std`` the result keeps (the pretraining data's).
    """
    g = torch.Generator().manual_seed(seed)
    picks = []
    for c in range(data.num_classes):
        index = (data.y_train == c).nonzero().flatten()
        if len(index) < n:
            raise ValueError(
                f"n per class must be <= {len(index)} for class {data.classes[c]!r} of {data.name}, got {n}"
            )
        picks.append(index[torch.randperm(len(index), generator=g)[:n]])
    index = torch.cat(picks)
    x_test, y_test = eval_subset(data.x_test, data.y_test, test_examples)
    stats = normalization or data
    return Dataset(
        data.name,
        data.x_train[index],
        data.y_train[index],
        x_test,
        y_test,
        list(data.classes),
        mean=list(stats.mean),
        std=list(stats.std),
        meta=data.meta,
    )


def resize_images(data: Dataset, shape: Sequence[int]) -> Dataset:
    """Images resized (bilinear, aspect kept) into a ``shape`` frame with MNIST's 4/28 empty margin.

    Example:
        >>> from cnnlab.data import load_dataset
        >>> resize_images(load_dataset("digits"), (1, 28, 28)).input_shape
        (1, 28, 28)
    """
    shape = tuple(shape)
    if data.input_shape == shape:
        return data
    if len(shape) != 3 or len(data.input_shape) != 3 or shape[0] != data.input_shape[0]:
        raise ValueError(
            f"cannot resize {data.name} inputs {data.input_shape} to {shape}: "
            "only images with the same number of channels can be resized"
        )
    margin = round(4 * shape[1] / 28)
    inner = (shape[1] - 2 * margin, shape[2] - 2 * margin)

    def fit(x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=inner, mode="bilinear", align_corners=False).clamp_(0, 1)
        return F.pad(x, (margin, margin, margin, margin))  # (N, C, H, W)

    return Dataset(
        f"{data.name}@{S.shape_text(shape[1:])}",
        fit(data.x_train),
        data.y_train,
        fit(data.x_test),
        data.y_test,
        list(data.classes),
        meta=data.meta,
    )


def feature_layers(net: Network) -> int:
    """Number of leading layers that are the convolutional features (up to the first flat output)."""
    for info in net.infos:
        if len(info.out_shape) == 1:
            return info.index + 1
    raise ValueError(f"the network has no flatten or gap layer that ends its features: {net.spec_text}")


def _freeze_batchnorm(module: torch.nn.Module) -> None:
    """Keep a BatchNorm in eval mode (its running statistics fixed) even when the network trains."""
    module.eval()
    # nn.Module.train(mode) recurses into children through this method, so replacing it on the instance
    # keeps this one module in eval mode while its parents switch.
    module.train = lambda mode=True: module  # type: ignore[method-assign]


def start_from(pretrained: Network, mode: str) -> Callable[[Trainer], None]:
    """A ``prepare`` hook for :func:`cnnlab.experiments.runner.train` that sets up one transfer mode."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")

    def prepare(trainer: Trainer) -> None:
        if mode == "scratch":
            return
        net = trainer.net
        assert isinstance(net, Network), "the runner trains networks built from specs"
        n = feature_layers(pretrained)
        if S.to_text(net.layers[:n]) != S.to_text(pretrained.layers[:n]) or net.input_shape != pretrained.input_shape:
            raise ValueError(
                f"the target network's features {S.to_text(net.layers[:n])} on {net.input_shape} do not "
                f"match the pretrained ones {S.to_text(pretrained.layers[:n])} on {pretrained.input_shape}"
            )
        for i in range(n):
            net[i].load_state_dict(pretrained[i].state_dict())
        if mode == "frozen":
            for i in range(n):
                for p in net[i].parameters():
                    p.requires_grad_(False)
                if isinstance(net[i], (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    _freeze_batchnorm(net[i])
            trainer.optimizer = make_optimizer(trainer.config, [p for p in net.parameters() if p.requires_grad])

    return prepare


def fine_tune(pretrained: Network | None, target: Dataset, mode: str, config: TrainConfig) -> Trained:
    """Train on ``target`` in one of :data:`MODES` (``pretrained`` may be None for ``scratch``)."""
    if pretrained is None and mode != "scratch":
        raise ValueError(f"mode {mode!r} needs a pretrained network")
    return train(config, target, prepare=start_from(pretrained, mode) if pretrained is not None else None)


@dataclass(frozen=True)
class TransferConfig:
    """What :func:`transfer` runs.

    Attributes:
        source, data_dir: the pretraining dataset and its folder.
        model: the network (a name from :mod:`cnnlab.experiments.runner` or spec text).
        split: pretrain on classes ``0..split-1``; the in-dataset target is ``split..``.
        n_per_class: labelled target examples per class.
        seeds: repetitions per (target, n, mode): which examples, head init, order.
        targets: other datasets (``name`` or ``name=DIR``); missing files are skipped with a note.
        pretrain_epochs, pretrain_subset: pretraining length (None/0: the recipe's / all examples).
        lr, min_epochs, min_steps: target training: Adam at ``lr`` with a one-cycle schedule, at least
            ``min_epochs`` epochs and ``min_steps`` steps.
        eval_examples: target test examples (the same for every run).
        threads: torch threads (None: the recipe's).
    """

    source: str = "mnist"
    data_dir: str | None = None
    model: str = "cnn"
    split: int = 5
    n_per_class: tuple[int, ...] = (5, 20, 100, 1000)
    seeds: int = 3
    targets: tuple[str, ...] = ("digits", "fashion-mnist", "kmnist")
    pretrain_epochs: int | None = None
    pretrain_subset: int = 0
    lr: float = 1e-3
    min_epochs: int = 5
    min_steps: int = 150
    eval_examples: int = 2000
    threads: int | None = None

    def validate(self) -> TransferConfig:
        """Check the counts against their documented bounds (:data:`BOUNDS`); returns self."""
        if not self.n_per_class or len(self.n_per_class) > 16:
            raise ValueError(f"n_per_class must list 1 to 16 sizes, got {len(self.n_per_class)}")
        check_counts({k: getattr(self, k) for k in BOUNDS}, BOUNDS)
        return self


#: The documented range of each count: the work a transfer study does is bounded.
BOUNDS = {
    "split": (1, 1000),
    "n_per_class": (1, 10**6),
    "seeds": (1, 100),
    "pretrain_subset": (0, 10**9),
    "min_epochs": (0, 100_000),
    "min_steps": (0, 10**7),
    "eval_examples": (1, 10**6),
}


@dataclass
class TransferResult:
    """Accuracy per target, mode and ``n`` per class (mean ± std over seeds)."""

    config: dict
    pretrain: dict
    targets: dict[str, dict]  # name -> {"n": [...], "modes": {mode: {"mean", "std", "values"}}}
    skipped: dict[str, str]
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(vars(self))

    def lines(self) -> list[str]:
        out = [f"pretrained on {self.pretrain['dataset']}: test accuracy {self.pretrain['test_accuracy']:.4f}"]
        for name, t in self.targets.items():
            out.append(f"\n{name}  (n per class: {', '.join(map(str, t['n']))})")
            for mode, c in t["modes"].items():
                out.append(f"  {mode:<9} " + "  ".join(f"{report.pm(m, s):>15}" for m, s in zip(c["mean"], c["std"])))
        out += [f"skipped {name}: {why}" for name, why in self.skipped.items()]
        return out

    def verdicts(self, name: str) -> list[str]:
        """Per n: the best way, and whether pretraining beat scratch beyond the error bars."""
        t = self.targets[name]
        out = []
        for i, n in enumerate(t["n"]):
            stats = {m: {k: t["modes"][m][k][i] for k in ("mean", "std")} for m in t["modes"]}
            best = max(stats, key=lambda m: stats[m]["mean"])
            transfer_best = max(("frozen", "finetune"), key=lambda m: stats[m]["mean"])
            helps = stats[transfer_best]["mean"] > stats["scratch"]["mean"] and report.separated(
                stats[transfer_best], stats["scratch"]
            )
            out.append(
                f"n = {n}: best {best} ({report.pm(stats[best]['mean'], stats[best]['std'])}); "
                + (
                    f"transfer helps: {transfer_best} beats scratch by "
                    f"{100 * (stats[transfer_best]['mean'] - stats['scratch']['mean']):.1f} points"
                    if helps
                    else "transfer does not beat scratch beyond the error bars"
                )
            )
        return out

    def markdown(self) -> str:
        c = self.config
        lines = [
            "# Transfer learning and fine-tuning",
            "",
            f"Pretrained `{self.pretrain['spec']}` on {self.pretrain['dataset']} "
            f"({self.pretrain['train_examples']:,} examples, {self.pretrain['epochs']} epochs): "
            f"test accuracy {100 * self.pretrain['test_accuracy']:.1f} %. Then n labelled examples per class of "
            f"each target, three ways; mean ± std over {c['seeds']} seed(s), {c['eval_examples']} test examples.",
        ]
        for name, t in self.targets.items():
            rows = [[mode] + [report.pm(m, s) for m, s in zip(v["mean"], v["std"])] for mode, v in t["modes"].items()]
            lines += ["", f"## {name}", "", report.markdown_table(["mode"] + [f"n = {n}" for n in t["n"]], rows), ""]
            lines += [f"- {v}" for v in self.verdicts(name)]
        if self.skipped:
            lines += ["", "Skipped: " + "; ".join(f"{k} ({v})" for k, v in self.skipped.items())]
        return "\n".join(lines + ["", report.plot_links(self.plots, None)])


def _target_datasets(config: TransferConfig, source: Dataset) -> tuple[dict[str, Dataset], dict[str, str]]:
    """The in-dataset split target and the cross-dataset targets that are available."""
    targets = {
        f"{source.name} {','.join(source.classes[config.split :])}": class_subset(
            source, range(config.split, source.num_classes)
        )
    }
    skipped = {}
    for entry in config.targets:
        name, _, folder = entry.partition("=")
        if name.strip().lower() == source.name:
            continue
        try:
            data = load_dataset(name.strip(), data_dir=folder or None, download=False)
            resized = resize_images(data, source.input_shape)
            targets[f"{resized.name} (all classes)"] = resized
        except FileNotFoundError:  # includes DownloadError: never downloads, the files must be there already
            skipped[name] = (
                f"its files are not in {folder}" if folder else f"its files are not in the cache; give {name}=DIR"
            )
        except ValueError as err:
            skipped[name] = str(err)
    return targets, skipped


def transfer(
    config: TransferConfig,
    source: Dataset | None = None,
    out: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool | None = None,
) -> TransferResult:
    """Pretrain, then learn each target from few labels three ways; writes the report into ``out``."""
    config.validate()
    source = source if source is not None else load_dataset(config.source, data_dir=config.data_dir)
    if not config.split < source.num_classes:
        raise ValueError(f"split must be between 1 and {source.num_classes - 1} for {source.name}, got {config.split}")
    log = log or (lambda line: None)
    spec = model_spec(config.model, source.input_shape)
    low = class_subset(source, range(config.split))
    base = recipe(source, epochs=config.pretrain_epochs, threads=config.threads).replace(
        model=spec, seed=0, train_subset=config.pretrain_subset
    )
    pretrained = train(base, low)
    pre = {
        "dataset": low.name,
        "spec": pretrained.net.spec_text,
        "epochs": base.epochs,
        "train_examples": config.pretrain_subset or len(low.y_train),
        **pretrained.final,
    }
    log(f"pretrained {spec} on {low.name}: test accuracy {pre['test_accuracy']:.4f}")
    targets, skipped = _target_datasets(config, source)
    results: dict[str, dict[str, Any]] = {}
    bar = tqdm(
        total=len(targets) * len(config.n_per_class) * len(MODES) * config.seeds,
        desc="transfer",
        unit="run",
        file=sys.stderr,
        disable=not (sys.stderr.isatty() if progress is None else progress),
    )
    for name, target in targets.items():
        fewest = int(torch.bincount(target.y_train, minlength=target.num_classes).min())
        ns = [n for n in config.n_per_class if n <= fewest]
        if not ns:
            skipped[name] = f"fewer than {min(config.n_per_class)} training examples per class"
            continue
        modes: dict[str, dict[str, list]] = {}
        for mode in MODES:
            per_n = []
            for n in ns:
                values = []
                for seed in range(config.seeds):
                    data = per_class(target, n, seed, config.eval_examples, normalization=low)
                    epochs = epochs_for(len(data.y_train), base.batch_size, config.min_epochs, config.min_steps)
                    cfg = base.replace(seed=seed, epochs=epochs, lr=config.lr, train_subset=0, dataset=target.name)
                    values.append(fine_tune(pretrained.net, data, mode, cfg).final["test_accuracy"])
                    bar.update()
                per_n.append(values)
                log(f"{name}: {mode:<8} n={n:<5} {report.pm(*report.mean_std(values))}")
            stats = [report.mean_std(v) for v in per_n]
            modes[mode] = {"mean": [m for m, _ in stats], "std": [s for _, s in stats], "values": per_n}
        results[name] = {"n": ns, "modes": modes}
    bar.close()
    result = TransferResult(dataclasses.asdict(config), pre, results, skipped)
    if out is not None:
        out = Path(out)
        make_folder(out)
        panels = [
            {
                "title": name,
                "series": [
                    {"label": mode, "x": t["n"], "mean": c["mean"], "std": c["std"]} for mode, c in t["modes"].items()
                ],
            }
            for name, t in results.items()
        ]
        if panels:
            result.plots.append(
                str(plots.curve_panels(panels, out / "transfer.png", "labelled examples per class", logx=True))
            )
        report.save(result, out)
    return result
