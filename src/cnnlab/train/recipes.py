"""Named training recipes: a preset network plus the hyper-parameters tuned for it.

``cnnlab train --recipe fast --dataset mnist`` starts from these values; any option given on the
command line overrides them.

Example:
    >>> RECIPES["fast"].model
    'fast'
"""

from __future__ import annotations

from cnnlab.train.config import TrainConfig

RECIPES: dict[str, TrainConfig] = {
    # Time-to-99 % on MNIST on a CPU: one epoch of a tiny BatchNorm CNN (pooling before BatchNorm
    # and ReLU, so the elementwise work runs on 4x fewer values), SGD with Nesterov momentum under a
    # one-cycle schedule, label smoothing, channels-last memory layout, and no evaluation until the
    # end (benchmarks/mnist_time_to_accuracy.py measures it). Batch 128 is the balance found on a
    # 2-core CPU: 64 is ~20 % slower for the same accuracy, 256 falls below 99 % in one epoch.
    "fast": TrainConfig(
        model="fast",
        dataset="mnist",
        epochs=1,
        batch_size=128,
        optimizer="sgd",
        lr=0.2,
        momentum=0.9,
        weight_decay=5e-4,
        schedule="onecycle",
        label_smoothing=0.1,
        channels_last=True,
        eval_every_epoch=False,
    ),
    # The same idea with twice the channels, six epochs and random translations by up to one
    # pixel, for >= 99.5 %.
    "fast995": TrainConfig(
        model="fast995",
        dataset="mnist",
        epochs=6,
        batch_size=64,
        optimizer="sgd",
        lr=0.2,
        momentum=0.9,
        weight_decay=5e-4,
        schedule="onecycle",
        label_smoothing=0.1,
        augment_shift=1,
        channels_last=True,
        eval_every_epoch=False,
    ),
}


def recipe(name: str) -> TrainConfig:
    """The recipe's config; unknown names list the valid ones."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; valid: {', '.join(RECIPES)}")
    return RECIPES[name]
