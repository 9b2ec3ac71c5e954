"""Optimizers by name, and learning-rate schedules as pure functions of the step.

A schedule that is a function of the global step needs no state of its own: a resumed run
recomputes the same learning rate, so resuming is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from cnnlab.train.config import TrainConfig

#: The optimizers with a fused implementation (one kernel for all parameters, gradient scaling inside).
FUSED = ("sgd", "adam", "adamw")


def make_optimizer(
    config: TrainConfig, params: Iterable[torch.nn.Parameter], fused: bool = False
) -> torch.optim.Optimizer:
    """The optimizer a config names, with its learning rate, momentum and weight decay.

    Args:
        config: names the optimizer and its hyper-parameters.
        params: the parameters to train.
        fused: use the fused implementation where there is one (:data:`FUSED`; the trainer asks for
            it on GPUs): a fused optimizer takes a float16 gradient scaler's inf check without
            waiting for the GPU. Ignored for the other optimizers.

    Example:
        >>> make_optimizer(TrainConfig(optimizer="sgd"), torch.nn.Linear(2, 2).parameters(), fused=True).defaults["fused"]
        True
    """
    lr, wd = config.resolved_lr, config.weight_decay
    name = config.optimizer
    fuse = True if fused and name in FUSED else None  # None: PyTorch's default implementation
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=config.momentum, nesterov=config.momentum > 0, weight_decay=wd, fused=fuse
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd, fused=fuse)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd, fused=fuse)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=wd)
    raise ValueError(f"optimizer must be one of sgd, adam, adamw, rmsprop, adagrad, adadelta, got {name!r}")


def lr_factor(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Multiplier of the base learning rate at a global step (0-based).

    ``onecycle``: linear warm-up from 0.1 over the first 20 % of steps, then linear decay to 0
    (the triangular one-cycle of fast training recipes); ``cosine``: half a cosine to 0;
    ``step``: x ``gamma`` every ``step_size`` epochs; ``none``: 1.

    Example:
        >>> cfg = TrainConfig(schedule="onecycle", epochs=1)
        >>> [round(lr_factor(cfg, s, 10), 2) for s in (0, 2, 6, 9)]
        [0.1, 1.0, 0.5, 0.12]
    """
    total = max(1, config.epochs * steps_per_epoch)
    progress = step / total
    if config.schedule == "onecycle":
        warm = 0.2
        if progress < warm:
            return 0.1 + 0.9 * progress / warm
        return (1 - progress) / (1 - warm)
    if config.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if config.schedule == "step":
        return config.gamma ** (step // steps_per_epoch // config.step_size)
    return 1.0
