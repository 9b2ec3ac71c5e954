"""Training history, the per-epoch log line, and callbacks (early stopping, checkpointing, non-finite loss)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch and step."""


def check_finite(losses: Iterable[tuple[int, float]], epoch: int, lr_at: Callable[[int], float]) -> None:
    """Raise :class:`NonFiniteLossError` at the first ``(step, loss)`` that is NaN or infinite.

    Example:
        >>> check_finite([(7, 0.5), (8, float("nan"))], epoch=2, lr_at=lambda step: 0.1)
        Traceback (most recent call last):
        ...
        cnnlab.train.callbacks.NonFiniteLossError: loss became nan at epoch 2, step 8; lower the learning rate (lr=0.1)
    """
    for step, loss in losses:
        if not math.isfinite(loss):
            raise NonFiniteLossError(
                f"loss became {loss} at epoch {epoch}, step {step}; lower the learning rate (lr={lr_at(step):g})"
            )


@dataclass
class History:
    """What ``fit`` returns: one dict of metrics per epoch, plus the final evaluation.

    Attributes:
        epochs: per-epoch records (``epoch``, ``train_loss``, ``train_accuracy``, ``lr``,
            ``seconds`` and, when computed, ``val_*`` / ``test_*``).
        final: the final test evaluation and run facts (``test_accuracy``, ``test_loss``, ...).
        stopped_early: the epoch at which early stopping ended training, or None.
    """

    epochs: list[dict] = field(default_factory=list)
    final: dict = field(default_factory=dict)
    stopped_early: int | None = None

    def metric(self, name: str) -> list[float]:
        """One metric over epochs, e.g. ``history.metric("train_loss")``."""
        return [record[name] for record in self.epochs if name in record]

    def __getitem__(self, name: str) -> list[float]:
        return self.metric(name)


class Callback:
    """Hook into the fit loop. ``on_epoch_end`` returns True to stop training.

    ``on_batch_end`` returns True to end training after the current step (the epoch's record then
    covers the steps taken, and ``on_epoch_end`` still runs); the trainer asks only callbacks that
    override it.
    """

    def on_epoch_end(self, epoch: int, record: dict, trainer) -> bool:
        return False

    def on_batch_end(self, step: int, trainer) -> bool:
        return False


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Example:
        >>> stop = EarlyStopping(patience=2)
        >>> [stop.on_epoch_end(e, {"val_loss": v}, None) for e, v in enumerate([1.0, 0.9, 0.95, 0.93])]
        [False, False, False, True]
    """

    def __init__(self, patience: int, monitor: str = "val_loss", min_delta: float = 0.0):
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience!r}")
        self.patience, self.monitor, self.min_delta = patience, monitor, min_delta
        self.best, self.bad_epochs = math.inf, 0

    def on_epoch_end(self, epoch: int, record: dict, trainer) -> bool:
        if self.monitor not in record:
            raise ValueError(f"early stopping monitors {self.monitor!r}, which this run does not compute")
        value = record[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.bad_epochs = value, 0
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience


class Checkpoint(Callback):
    """Save ``checkpoint-last`` every epoch and ``checkpoint-best`` when ``monitor`` improves."""

    def __init__(self, monitor: str = "val_loss"):
        self.monitor, self.best = monitor, math.inf

    def on_epoch_end(self, epoch: int, record: dict, trainer) -> bool:
        trainer.save_checkpoint("checkpoint-last.safetensors", epoch)
        value = record.get(self.monitor)
        if value is not None and value < self.best:
            self.best = value
            trainer.save_checkpoint("checkpoint-best.safetensors", epoch)
        return False


def epoch_line(record: dict, epochs: int) -> str:
    """The one line the fit loop logs per epoch.

    Example:
        >>> epoch_line({"epoch": 2, "train_loss": 0.5, "train_accuracy": 0.8, "lr": 0.001, "seconds": 1.25}, 5)
        'epoch   2/5  loss 0.5000  acc 0.8000  lr 0.001  1.2s'
    """
    parts = [
        f"epoch {record['epoch']:>3}/{epochs}",
        f"loss {record['train_loss']:.4f}",
        f"acc {record['train_accuracy']:.4f}",
    ]
    for prefix in ("val", "test"):
        if f"{prefix}_loss" in record:
            parts.append(
                f"{prefix}_loss {record[f'{prefix}_loss']:.4f} {prefix}_acc {record[f'{prefix}_accuracy']:.4f}"
            )
    parts.append(f"lr {record['lr']:.3g}  {record['seconds']:.1f}s")
    return "  ".join(parts)
