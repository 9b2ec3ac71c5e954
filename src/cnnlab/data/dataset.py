"""The in-memory dataset value that every loader returns and the trainer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .normalization import channel_stats


@dataclass
class Dataset:
    """A labelled dataset held in memory as tensors, channels first.

    Attributes:
        name: registry name, e.g. ``"mnist"``, ``"digits"``, ``"ising:PATH"``.
        x_train, x_test: float32 tensors ``(N, C, H, W)`` or ``(N, C, W)``, values as stored
            (images in [0, 1]; physics data e.g. spins in {-1, +1}).
        y_train, y_test: int64 class labels ``(N,)``.
        classes: a human-readable name per class (``len(classes)`` is the number of classes).
        mean, std: per-channel normalisation statistics of the training set (the trainer
            normalises with them; they are saved with every run).
        meta: provenance (source files, checksums, generator seed, ...), JSON-serialisable.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str]
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.mean or not self.std:
            self.mean, self.std = channel_stats(self.x_train)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape, e.g. ``(1, 28, 28)``."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"input_shape={self.input_shape}, classes={self.num_classes})"
        )
