"""The registry of named things: networks (presets) and the training recipes tuned for them.

This module is the one home of every name cnnlab gives to a network or a recipe: ``cnnlab
presets``, ``cnnlab train --model/--recipe``, the demo, the experiments, the web page's training
defaults, the shipped visualiser models and the Ising classifier all read it.

A **preset** is a network's text spec with the input it is designed for. A **recipe** is a set of
:class:`~cnnlab.train.TrainConfig` fields (optimizer, learning rate, schedule, epochs, ...) kept as
plain values here, so that this module needs nothing above :mod:`cnnlab.spec`;
:func:`cnnlab.train.recipes.recipe` turns one into a validated config. A preset may carry its
recipe: ``cnnlab train --model fast`` then trains exactly as ``cnnlab train --recipe fast``.

Example:
    >>> PRESETS["fast"].recipe, RECIPES["fast"].settings["optimizer"]
    ('fast', 'sgd')
    >>> for_input("cnn", (1, 40)), for_input("cnn", (1, 28, 28))   # "cnn" means cnn1d on 1-D signals
    ('cnn1d', 'cnn')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["PRESETS", "RECIPES", "Preset", "Recipe", "for_input", "recipe_for_model"]


@dataclass(frozen=True)
class Preset:
    """A named network.

    Attributes:
        text: the spec (``linear`` without a size: one output per class).
        input_shape: the input it is designed for (``cnnlab summary NAME`` uses it).
        description: one line for ``cnnlab presets``.
        recipe: the name of the recipe it is trained with by default (``cnnlab train --model NAME``), or None.
        one_d: the preset that this name means on 1-D inputs ``(C, W)`` (see :func:`for_input`), or None.
    """

    text: str
    input_shape: tuple[int, ...]
    description: str
    recipe: str | None = None
    one_d: str | None = None


@dataclass(frozen=True)
class Recipe:
    """Training hyper-parameters, as :class:`~cnnlab.train.TrainConfig` field values.

    Attributes:
        description: one line: what it is tuned for.
        settings: field name -> value (fields not named keep ``TrainConfig``'s defaults).
        epochs_by_dataset: dataset name -> epochs, for recipes whose length depends on the data
            (``settings["epochs"]`` applies to the others).
    """

    description: str
    settings: Mapping[str, object]
    epochs_by_dataset: Mapping[str, int] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "mlp": Preset(
        "flatten-linear(400)-relu-dropout(0.2)-linear(100)-relu-dropout(0.2)-linear",
        (1, 28, 28),
        "the course's dense network 784-400-100-10 with dropout (exercise 12.1)",
    ),
    "mlp300": Preset(
        "flatten-linear(300)-relu-linear(100)-relu-linear",
        (1, 28, 28),
        "the dense network of the interactive visualiser, 784-300-100-10",
    ),
    "logreg": Preset("flatten-linear", (1, 28, 28), "logistic regression (one dense layer + softmax)"),
    "lenet": Preset(
        "conv(6,5,p=2)-relu-maxpool(2)-conv(16,5)-relu-maxpool(2)-flatten-linear(120)-relu-linear(84)-relu-linear",
        (1, 28, 28),
        "LeNet-5 (LeCun et al. 1998) with ReLU and max pooling",
    ),
    "cnn": Preset(
        "conv(16,5,p=2)-relu-maxpool(2)-conv(32,5,p=2)-relu-maxpool(2)-flatten-linear(100)-relu-dropout(0.2)-linear",
        (1, 28, 28),
        "the course's CNN for MNIST (exercise 12.2): two conv+pool blocks, a dense layer",
        one_d="cnn1d",
    ),
    "cnn-small": Preset(
        "conv(8,5,p=2)-relu-maxpool(2)-conv(16,5,p=2)-relu-maxpool(2)-flatten-linear",
        (1, 28, 28),
        "two small conv+pool blocks straight into the classifier",
    ),
    "cnn-large": Preset(
        "conv(32,5,p=2)-relu-maxpool(2)-conv(64,5,p=2)-relu-maxpool(2)-flatten-linear(100)-relu-dropout(0.2)-linear",
        (1, 28, 28),
        "the 'cnn' with twice the filters: about the dense network's parameter count",
    ),
    "cnn-digits": Preset(
        "conv(16,3,p=1)-relu-conv(32,3,p=1)-relu-maxpool(2)-flatten-linear(64)-relu-linear",
        (1, 8, 8),
        "two small convs and one pool for scikit-learn's 8x8 digits (the demo's CNN there)",
    ),
    "lecture": Preset(
        "conv(2,3)-relu-maxpool(2)-flatten-linear",
        (3, 6, 6),
        "the lecture's example: 6x6x3 input, two 3x3x3 filters -> 4x4x2, pool, classifier",
    ),
    "fast": Preset(
        "conv(8,3,p=1)-maxpool(2)-bn-relu-conv(16,3,p=1)-maxpool(2)-bn-relu-conv(32,3,p=1)-bn-relu-flatten-linear",
        (1, 28, 28),
        "tiny BatchNorm CNN tuned for time-to-99% on MNIST on a CPU",
        recipe="fast",
    ),
    "fast995": Preset(
        "conv(16,3,p=1)-maxpool(2)-bn-relu-conv(32,3,p=1)-maxpool(2)-bn-relu-conv(64,3,p=1)-bn-relu-flatten-linear",
        (1, 28, 28),
        "wider sibling of 'fast' for >= 99.5% on MNIST within a minute",
        recipe="fast995",
    ),
    "cnn1d": Preset(
        "conv(32,5,p=2)-relu-conv(32,3,p=1)-relu-maxpool(2)-conv(32,3,p=1)-relu-maxpool(2)-flatten-linear",
        (1, 40),
        "1-D CNN for MNIST-1D (Greydanus & Kobak 2020)",
    ),
    "equivariant": Preset(
        "conv(16,5,p=2,mode=circular)-relu-conv(32,5,p=2,mode=circular)-relu-conv(32,5,p=2,mode=circular)-relu-gap-linear",
        (1, 28, 28),
        "exactly translation-invariant CNN: circular padding, stride 1, global average pooling",
    ),
    "ising-cnn": Preset(
        "conv(8,3,p=1,mode=circular)-relu-maxpool(2)-conv(8,3,p=1,mode=circular)-relu-gap-linear(16)-relu-linear",
        (1, 32, 32),
        "Ising phase classifier: periodic padding, global average pooling (any even L)",
    ),
    "ising-dense": Preset(
        "flatten-linear(100)-relu-linear",
        (1, 32, 32),
        "Ising phase classifier without convolutions: one hidden layer of 100 (Carrasquilla & Melko 2017)",
    ),
}


RECIPES: dict[str, Recipe] = {
    # Time-to-99 % on MNIST on a CPU: one epoch of a tiny BatchNorm CNN (pooling before BatchNorm
    # and ReLU, so the elementwise work runs on 4x fewer values), SGD with Nesterov momentum under a
    # one-cycle schedule, label smoothing, channels-last memory layout, and no evaluation until the
    # end (benchmarks/mnist_time_to_accuracy.py measures it). Batch 128 is the balance found on a
    # 2-core CPU: 64 is ~20 % slower for the same accuracy, 256 falls below 99 % in one epoch.
    "fast": Recipe(
        "MNIST to 99 % in seconds on a CPU: one epoch, SGD + one-cycle, label smoothing",
        {
            "model": "fast",
            "dataset": "mnist",
            "epochs": 1,
            "batch_size": 128,
            "optimizer": "sgd",
            "lr": 0.2,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "schedule": "onecycle",
            "label_smoothing": 0.1,
            "channels_last": True,
            "eval_every_epoch": False,
        },
    ),
    # The same idea with twice the channels, six epochs and random translations by up to one
    # pixel, for >= 99.5 %.
    "fast995": Recipe(
        "MNIST to 99.5 % within a minute: six epochs, +-1 px shifts",
        {
            "model": "fast995",
            "dataset": "mnist",
            "epochs": 6,
            "batch_size": 64,
            "optimizer": "sgd",
            "lr": 0.2,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "schedule": "onecycle",
            "label_smoothing": 0.1,
            "augment_shift": 1,
            "channels_last": True,
            "eval_every_epoch": False,
        },
    ),
    # Adam with a one-cycle schedule at lr 1e-2 reproduces MNIST-1D's published numbers (MLP ~68 %,
    # CNN ~94 %); the epochs keep the demo well under a minute on a 2-core CPU.
    "course": Recipe(
        "the demo's and the experiments' recipe: Adam lr 1e-2, one-cycle, batch 100",
        {"epochs": 2, "batch_size": 100, "optimizer": "adam", "lr": 1e-2, "schedule": "onecycle"},
        epochs_by_dataset={"mnist1d": 30, "digits": 20},
    ),
    "visualiser": Recipe(
        "the two networks shipped with cnnlab serve (scripts/train_web_models.py)",
        {
            "dataset": "mnist",
            "epochs": 6,
            "batch_size": 128,
            "optimizer": "adam",
            "lr": 1e-3,
            "threads": 1,
            "eval_every_epoch": False,
        },
    ),
    # A click on the page should finish in about a minute on a laptop: LeNet on 6000 MNIST digits,
    # one thread, on the CPU (the server answers drawing requests meanwhile).
    "page": Recipe(
        "the web page's training run (cnnlab serve, 'train')",
        {
            "model": "lenet",
            "dataset": "mnist",
            "epochs": 8,
            "batch_size": 64,
            "optimizer": "adam",
            "lr": 1e-3,
            "train_subset": 6000,
            "seed": 0,
            "threads": 1,
            "device": "cpu",
        },
    ),
}


def for_input(name: str, input_shape: Sequence[int]) -> str:
    """The preset that ``name`` means for inputs of ``input_shape`` (``cnn`` is ``cnn1d`` on ``(C, W)``).

    Names that are not presets (spec text) are returned unchanged.
    """
    preset = PRESETS.get(name)
    if preset is not None and preset.one_d is not None and len(input_shape) == 2:
        return preset.one_d
    return name


def recipe_for_model(model: str | None) -> str | None:
    """The recipe a ``--model`` name carries (``fast`` -> ``fast``), None for other names and spec text.

    Example:
        >>> recipe_for_model("fast995"), recipe_for_model("lenet"), recipe_for_model("conv(8,3)-relu")
        ('fast995', None, None)
    """
    preset = PRESETS.get(model.strip()) if isinstance(model, str) else None
    return preset.recipe if preset is not None else None
