"""Feeding the training step: the splits, where the data lives, one epoch's batches, per-step totals kept on the device.

On a GPU the step must not wait for the host. The data lives on the GPU when it fits
(:func:`~cnnlab.train.device.data_fits`, estimated first; MNIST takes 0.22 GB); each epoch's
shuffled order and augmentation offsets are drawn on the CPU (from the run's seeded generator, so
a CPU run draws exactly what it always did) and copied to the data's device once; batches are then
indexed and translated there. Loss and accuracy of each step stay on the device in a small buffer
(:class:`StepTotals`) that the trainer reads back every few steps: one host synchronisation per
interval instead of two per step.

Example:
    >>> x, y = torch.arange(10.).view(5, 1, 2), torch.arange(5)
    >>> [yb.tolist() for _, yb, _ in epoch_batches(x, y, 2, torch.Generator().manual_seed(0))]
    [[4, 0], [1, 3], [2]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from cnnlab.data.augment import random_offsets, translate
from cnnlab.data.dataset import Dataset
from cnnlab.data.normalization import normalize
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import data_fits


def host_to(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``tensor`` on ``device``; a CPU -> GPU copy goes through pinned memory, so it does not wait for the GPU.

    (A copy from ordinary, pageable memory waits for the GPU's queue: ``non_blocking`` alone does nothing.)
    """
    if tensor.device == device or device.type != "cuda" or tensor.device.type != "cpu":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def training_splits(data: Dataset, config: TrainConfig) -> list[torch.Tensor]:
    """``[x_train, y_train, x_val, y_val, x_test, y_test]``: normalised, the validation split held out (seeded by
    ``config.seed``), only ``config.train_subset`` training examples when asked.

    Raises:
        ValueError: a validation split with no example, or more ``train_subset`` than there are examples.
    """
    x, y = normalize(data.x_train, data.mean, data.std), data.y_train
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(config.seed))
    n_val = round(config.val_split * len(y))
    if config.val_split and n_val < 1:
        raise ValueError(f"val_split={config.val_split} leaves no validation example out of {len(y)}")
    train_index = order[n_val:]
    if config.train_subset:
        if config.train_subset > len(train_index):
            raise ValueError(
                f"train_subset must be <= {len(train_index)} (training examples available), got {config.train_subset}"
            )
        train_index = train_index[: config.train_subset]
    x_test = normalize(data.x_test, data.mean, data.std)
    return [
        x[train_index].contiguous(),
        y[train_index].contiguous(),
        x[order[:n_val]],
        y[order[:n_val]],
        x_test,
        data.y_test,
    ]


def place(tensors: list[torch.Tensor], device: torch.device) -> tuple[torch.device, list[torch.Tensor]]:
    """(where the data lives, the tensors there): on ``device`` when they fit (:func:`data_fits`), else on the CPU.

    Example:
        >>> place([torch.zeros(3)], torch.device("cpu"))[0]
        device(type='cpu')
    """
    where = device if data_fits(sum(t.nbytes for t in tensors), device) else torch.device("cpu")
    return where, [t.to(where) for t in tensors]


def epoch_batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator, augment_shift: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """(x, y, batch size) for each step of one epoch, computed on ``x``'s device.

    The order (a permutation) and, when ``augment_shift`` > 0, one random translation per example
    are drawn on the CPU from ``generator`` before the first batch, in this order; batches are
    consecutive slices of the order.

    Args:
        x: the (normalised) training inputs ``(N, C, ...)``, on the device where batches are made.
        y: labels ``(N,)`` on the same device.
        batch_size: examples per step (the last batch may be smaller).
        generator: a seeded CPU generator.
        augment_shift: random translations by up to this many pixels (0 = none).
    """
    n = len(y)
    order = torch.randperm(n, generator=generator)
    offsets = random_offsets(n, augment_shift, generator) if augment_shift else None
    order = host_to(order, x.device)
    offsets = host_to(offsets, x.device) if offsets is not None else None
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        batch = x[index]
        if offsets is not None:
            batch = translate(batch, offsets[start : start + batch_size], augment_shift)
        yield batch, y[index], len(index)


class StepTotals:
    """Each step's (sum of losses, correct predictions), written on the device and read back in one go.

    Attributes:
        loss, correct: the epoch's totals over the steps read back so far (summed in step order).
        steps: steps recorded so far (the next one is ``steps + 1``).

    Args:
        every: steps between read-backs (the buffer's length).
        device: where the steps' values are computed.

    Example:
        >>> totals = StepTotals(every=2, device=torch.device("cpu"))
        >>> totals.add(torch.tensor(1.5, dtype=torch.float64), torch.tensor(3))
        >>> totals.full, totals.read(), totals.loss, totals.correct
        (False, [(1, 1.5)], 1.5, 3)
    """

    def __init__(self, every: int, device: torch.device):
        self.buffer = torch.zeros((every, 2), dtype=torch.float64, device=device)  # (steps, [loss sum, correct])
        self.count = self.steps = self.correct = 0
        self.loss = 0.0

    @property
    def full(self) -> bool:
        return self.count == len(self.buffer)

    def add(self, loss_sum: torch.Tensor, correct: torch.Tensor) -> None:
        """Record one step (both 0-d tensors on the device); no host synchronisation."""
        self.buffer[self.count] = torch.stack((loss_sum.detach().double(), correct.double()))
        self.count += 1
        self.steps += 1

    def read(self, combine: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[tuple[int, float]]:
        """``(step, loss sum)`` of the steps recorded since the last read, after ``combine`` (e.g. a sum over processes).

        This is the host synchronisation: the one ``tolist`` per interval. The totals grow by these steps.
        """
        rows = self.buffer[: self.count].clone()
        rows = combine(rows) if combine is not None else rows
        first, self.count = self.steps - self.count + 1, 0
        out = []
        for step, (loss, correct) in enumerate(rows.tolist(), start=first):
            self.loss += loss
            self.correct += int(correct)
            out.append((step, loss))
        return out
