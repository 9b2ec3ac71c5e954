"""Per-channel normalisation: the statistics a dataset carries and the transform every model applies.

A network is trained on ``(x - mean) / std`` with the training set's per-channel ``mean`` and
``std``; the same two lists are saved with every run, so that inference (``cnnlab.model``),
evaluation and exported files transform raw inputs exactly as training did.

Example:
    >>> import torch
    >>> x = torch.tensor([[[0.0, 2.0]], [[2.0, 4.0]]])   # (N=2, C=1, W=2)
    >>> channel_stats(x)
    ([2.0], [1.632993221282959])
    >>> normalize(x, [2.0], [2.0]).flatten().tolist()
    [-1.0, 0.0, 0.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["MIN_STD", "channel_stats", "normalize"]

#: A constant channel (std 0) is divided by this instead, so that normalising never divides by zero.
MIN_STD = 1e-8


def channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Mean and (sample) standard deviation of each channel of ``(N, C, *spatial)`` inputs.

    Shape:
        ``x``: ``(N, C, H, W)`` or ``(N, C, W)``; returns two lists of ``C`` floats. A standard
        deviation below :data:`MIN_STD` is replaced by it.
    """
    dims = [0] + list(range(2, x.dim()))
    return x.mean(dim=dims).tolist(), [max(s, MIN_STD) for s in x.std(dim=dims).tolist()]


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Per-channel ``(x - mean) / std`` for ``(N, C, ...)`` inputs (a new tensor, ``x``'s dtype and device).

    Args:
        x: raw inputs, channels in dimension 1.
        mean, std: one value per channel (a dataset's :attr:`~cnnlab.data.dataset.Dataset.mean`
            and :attr:`~cnnlab.data.dataset.Dataset.std`).
    """
    shape = (1, -1) + (1,) * (x.dim() - 2)
    mean_t = torch.tensor(mean, dtype=x.dtype, device=x.device).view(shape)
    std_t = torch.tensor(std, dtype=x.dtype, device=x.device).view(shape)
    return (x - mean_t) / std_t
