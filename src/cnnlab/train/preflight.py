"""What a training run is checked for before anything is allocated or any process is started.

:func:`check_fits` takes the config and what the dataset says about itself (input shape, classes,
sizes) and refuses, with one sentence, a network that does not fit the data, an augmentation wider
than the input, or a run whose memory estimate (:func:`cnnlab.spec.estimate_memory`) is over the
limit (:func:`cnnlab.spec.memory_limit`). The :class:`~cnnlab.train.Trainer` calls it before it
builds the network; ``cnnlab train --nproc N`` calls it in the launching process, so that a mistake
is reported once, before any worker starts.

Example:
    >>> from cnnlab.train.config import TrainConfig
    >>> check_fits(TrainConfig(model="logreg"), (1, 8, 8), 10, n_train=1437, n_test=360).params
    650
    >>> check_fits(TrainConfig(model="flatten-linear(5)"), (1, 8, 8), 10, n_train=1437, n_test=360)
    Traceback (most recent call last):
    ...
    ValueError: model 'flatten-linear(5)' ends with 5 outputs, but the dataset has 10 classes; end it with 'linear' (one output per class)
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnlab import spec as S
from cnnlab.train.config import TrainConfig

__all__ = ["EVAL_BATCH", "check_fits", "train_size"]

#: Examples per forward pass when the trainer evaluates (:func:`cnnlab.train.evaluation.predict_logits`).
EVAL_BATCH = 1000


def check_fits(
    config: TrainConfig,
    input_shape: Sequence[int],
    num_classes: int,
    n_train: int,
    n_test: int,
    limit: int | None = None,
    hint: str = "set CNNLAB_MEMORY_LIMIT to allow more, or lower --batch-size",
) -> S.MemoryEstimate:
    """Refuse a run that cannot work on this data, or would need more memory than ``limit``; returns the estimate.

    Args:
        config: the run's configuration (``model``, ``batch_size``, ``augment_shift`` are checked).
        input_shape, num_classes: one example's shape and the dataset's number of classes.
        n_train, n_test: examples the run trains on and evaluates on (the batches can be no larger).
        limit: bytes (default :func:`cnnlab.spec.memory_limit`).
        hint: what the refusal suggests.

    Raises:
        ValueError: naming the rule and the numbers (:class:`cnnlab.spec.MemoryBudgetError` for memory).
    """
    input_shape = tuple(input_shape)
    spatial = input_shape[1:]
    if config.augment_shift and spatial and config.augment_shift >= min(spatial):
        raise ValueError(
            f"augment_shift must be smaller than the input ({S.shape_text(input_shape)}: every pixel would leave "
            f"the image), got {config.augment_shift}"
        )
    rows = S.analyze(config.model, input_shape, num_classes)
    if rows[-1].out_shape != (num_classes,):
        raise ValueError(
            f"model {config.model!r} ends with {S.shape_text(rows[-1].out_shape)} outputs, but the dataset has "
            f"{num_classes} classes; end it with 'linear' (one output per class)"
        )
    limit = S.memory_limit() if limit is None else limit
    layers = [row.layer for row in rows]
    what = f"training {config.model!r} on {S.shape_text(input_shape)}"
    train = S.estimate_memory(layers, input_shape, batch_size=max(1, min(config.batch_size, n_train)), training=True)
    train.check(limit, what, hint)
    S.estimate_memory(layers, input_shape, batch_size=max(1, min(EVAL_BATCH, n_test))).check(limit, what, hint)
    return train


def train_size(config: TrainConfig, n_examples: int) -> int:
    """Training examples left after the validation split and ``train_subset`` (as the trainer takes them).

    Example:
        >>> train_size(TrainConfig(val_split=0.1), 1000), train_size(TrainConfig(train_subset=100), 1000)
        (900, 100)
    """
    n_val = round(config.val_split * n_examples)
    if config.val_split and n_val < 1:
        raise ValueError(f"val_split={config.val_split} leaves no validation example out of {n_examples}")
    available = n_examples - n_val
    if config.train_subset > available:
        raise ValueError(
            f"train_subset must be <= {available} (training examples available), got {config.train_subset}"
        )
    return config.train_subset or available
