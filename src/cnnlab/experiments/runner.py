"""What the experiments share: model names per input shape, the training recipe, one run in memory.

Model names in the experiments are preset names (``cnnlab presets``: ``mlp``, ``logreg``, ``cnn``,
``cnn-small``, ``cnn-large``, ...) or spec text. ``cnn`` means the preset ``cnn1d`` on 1-D inputs
(:func:`cnnlab.spec.presets.for_input`). Training uses the registry's ``course`` recipe.

Example:
    >>> model_spec("cnn", (1, 40))
    'cnn1d'
    >>> model_spec("cnn", (1, 28, 28))
    'cnn'
    >>> model_spec("resnet", (1, 28, 28))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown model 'resnet'; valid names: cnn, cnn-digits, cnn-large, cnn-small, cnn1d, ..., mlp, ..., or a spec such as 'conv(16,5,p=2)-relu-maxpool(2)-flatten-linear'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from cnnlab import spec as S
from cnnlab.data.dataset import Dataset
from cnnlab.engine import Network
from cnnlab.model import Model
from cnnlab.train import History, TrainConfig, Trainer
from cnnlab.train.recipes import recipe as course_recipe


def check_counts(values: dict[str, object], bounds: dict[str, tuple[int, int]]) -> None:
    """Each integer setting within its documented ``[low, high]`` (a count of runs, shifts, examples, ...).

    Example:
        >>> check_counts({"seeds": 10**9}, {"seeds": (1, 100)})
        Traceback (most recent call last):
        ...
        ValueError: seeds must be an integer in [1, 100], got 1000000000
    """
    for name, value in values.items():
        low, high = bounds[name]
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}], got {item!r}")


def valid_model_names() -> list[str]:
    """The presets, sorted (what error messages list)."""
    return sorted(S.PRESETS)


def model_spec(name: str, input_shape: Sequence[int]) -> str:
    """The preset name or spec text that ``name`` means for inputs of ``input_shape``.

    Args:
        name: a preset or spec text.
        input_shape: one example's shape; ``cnn`` means ``cnn1d`` for ``(C, W)`` inputs.

    Raises:
        ValueError: an unknown name (lists the valid ones), or a spec that does not fit the input.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"model must be a non-empty name or spec, got {name!r}")
    name = name.strip()
    if name in S.PRESETS:
        resolved = S.for_input(name, input_shape)
    elif "(" in name or "-" in name:
        resolved = name
    else:
        raise ValueError(
            f"unknown model {name!r}; valid names: {', '.join(valid_model_names())}, "
            "or a spec such as 'conv(16,5,p=2)-relu-maxpool(2)-flatten-linear'"
        )
    S.analyze(resolved, tuple(input_shape), num_classes=10)  # a spec that does not fit fails here, naming the layer
    return resolved


def parse_names(text: str | Sequence[str], what: str) -> list[str]:
    """``"mlp,cnn"`` or ``["mlp", "cnn"]`` -> a list of stripped, non-empty names.

    Spec text contains commas inside parentheses; those do not split.

    Example:
        >>> parse_names("mlp, conv(8,5,p=2)-relu-flatten-linear", "models")
        ['mlp', 'conv(8,5,p=2)-relu-flatten-linear']
    """
    parts = S.split_top_level(text, ",") if isinstance(text, str) else [str(t) for t in text]
    names = [n.strip() for n in parts if n.strip()]
    if not names:
        raise ValueError(f"{what} must name at least one item, got {text!r}")
    return names


def recipe(data: Dataset, **changes) -> TrainConfig:
    """The experiments' default training config for ``data`` (the registry's ``course`` recipe), then ``changes``.

    Adam, lr 1e-2, one-cycle schedule, batch 100: it reproduces MNIST-1D's published accuracies.
    30 epochs on MNIST-1D, 20 on digits, 2 on MNIST-size data. One CPU thread: these models are
    small enough that a second thread costs more in synchronisation than it gains, and on a busy
    machine (a shared 2-core box) several threads made MNIST runs ten times slower; pass
    ``threads=0`` to use every core of a free machine. No evaluation after every epoch (the
    experiments evaluate what they need).

    Example:
        >>> from cnnlab.data import load_dataset
        >>> cfg = recipe(load_dataset("digits"), epochs=3)
        >>> cfg.epochs, cfg.lr, cfg.threads
        (3, 0.01, 1)
    """
    base = course_recipe("course", dataset=data.name).replace(model="mlp", threads=1, eval_every_epoch=False)
    return base.replace(**{k: v for k, v in changes.items() if v is not None}).validate()


def epochs_for(n_examples: int, batch_size: int, epochs: int, min_steps: int, max_epochs: int = 500) -> int:
    """Epochs so that a small training set still gets at least ``min_steps`` optimizer steps.

    Example:
        >>> epochs_for(25, 100, epochs=2, min_steps=100)   # one step per epoch
        100
        >>> epochs_for(60000, 100, epochs=2, min_steps=100)
        2
    """
    steps_per_epoch = math.ceil(n_examples / batch_size)
    return min(max_epochs, max(epochs, math.ceil(min_steps / steps_per_epoch)))


@dataclass
class Trained:
    """One finished training run held in memory."""

    history: History
    net: Network
    data: Dataset
    config: TrainConfig

    @property
    def final(self) -> dict:
        return self.history.final

    @functools.cached_property
    def model(self) -> Model:
        """The trained network as an inference handle (normalises raw inputs with the data's statistics)."""
        return Model(
            self.net, list(self.data.classes), list(self.data.mean), list(self.data.std), self.config.to_dict()
        )


def train(
    config: TrainConfig,
    data: Dataset,
    prepare: Callable[[Trainer], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> Trained:
    """Train ``config.model`` on ``data`` without writing files; ``prepare`` may edit the trainer first.

    Args:
        config: the run's configuration (``config.model`` is a preset or spec text).
        data: the dataset (its ``mean``/``std`` normalise the inputs).
        prepare: called with the :class:`~cnnlab.train.Trainer` before training (transfer learning
            loads weights and freezes layers there).
        log: receives the per-epoch lines; None = silent.
    """
    trainer = Trainer(config, data, out=None, log=log, progress=False)
    if prepare is not None:
        prepare(trainer)
    history = trainer.run()
    assert isinstance(trainer.net, Network), "built from config.model, so an engine network"
    return Trained(history, trainer.net, data, trainer.config)


def accuracy(model: Model, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of ``model`` on raw inputs ``x`` with labels ``y``."""
    return (model.predict_logits(x).argmax(1) == y).float().mean().item()


def eval_subset(x: torch.Tensor, y: torch.Tensor, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random ``n`` test examples every time (all of them when ``n`` is 0 or too large)."""
    if not n or n >= len(y):
        return x, y
    index = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n]
    return x[index], y[index]
