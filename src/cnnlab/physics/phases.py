"""The phase classifier (Carrasquilla & Melko, Nat. Phys. 13, 431, 2017): ordered or disordered?

A small CNN with circular padding (the lattice is periodic) is trained on configurations far from
the transition, ordered (T < 2.0, label 1) and disordered (T > 2.5, label 0), then predicts
P(ordered) at every temperature; the curve crosses 1/2 near Tc (:func:`crossing`, with errors
from :func:`bootstrap_crossings`). :mod:`cnnlab.physics.tc` runs the whole measurement.

The classifier respects the Z2 symmetry of the Hamiltonian (flipping every spin) by construction:
:class:`Z2Symmetric` averages the logits of ``x`` and ``-x``, so ``P(x) == P(-x)`` exactly. It is
trained by the project's one training loop, :func:`cnnlab.train.fit` (Adam, shuffled
mini-batches); spins are fed as they are (mean 0, std 1: a normalisation would break the symmetry).

Example:
    >>> net = Z2Symmetric(build("flatten-linear(4)-relu-linear", (1, 4, 4), 2, seed=0))
    >>> x = torch.randn(3, 1, 4, 4)
    >>> torch.equal(net(x), net(-x))
    True
    >>> crossing([1.0, 2.0, 3.0], [0.9, 0.7, 0.1])   # P = 1/2 between T = 2 and 3
    2.333333333333333
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.engine import build
from cnnlab.spec.presets import PRESETS

__all__ = [
    "CNN_SPEC",
    "DENSE_SPEC",
    "Z2Symmetric",
    "bootstrap_crossings",
    "classifier",
    "crossing",
    "predict_ordered",
    "train_classifier",
]

# The registry's Ising networks: the CNN (two circular 3x3 convs, a pool, global average pooling; the same
# parameters at any L) and the paper's dense network with one hidden layer of 100.
CNN_SPEC = PRESETS["ising-cnn"].text
DENSE_SPEC = PRESETS["ising-dense"].text


class Z2Symmetric(nn.Module):
    """Wraps a network ``f`` as ``(f(x) + f(-x)) / 2``: invariant under flipping all spins.

    Shape: ``(N, 1, L, L) -> (N, classes)``, as the wrapped network.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Two separate calls (not one batch of [x, -x]) so that f(-x) for input x and for
        # input -x run the same kernels on the same tensors: the sum is then bitwise symmetric.
        return 0.5 * (self.net(x) + self.net(-x))


def classifier(spec: str, L: int, seed: int) -> Z2Symmetric:
    """The symmetric two-class network of ``spec`` for L x L inputs, initialised from ``seed``."""
    return Z2Symmetric(build(spec, (1, L, L), 2, seed=seed))


def train_classifier(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: str = "cpu",
    threads: int = 0,
    label_smoothing: float = 0.0,
) -> list[float]:
    """Train ``net`` on spins ``x`` (N, 1, L, L) and labels ``y`` with :func:`cnnlab.train.fit`.

    Adam on cross-entropy (with ``label_smoothing``), shuffled mini-batches, no learning-rate
    schedule; ``device`` is where it trains (``cpu``, ``cuda`` or ``auto``). Returns the mean
    training loss of each epoch.
    """
    from cnnlab.data.dataset import Dataset
    from cnnlab.train import TrainConfig, fit

    # mean 0 / std 1: the trainer's normalisation is the identity, so the Z2 symmetry survives.
    # The loop's final test evaluation needs a test set; a slice of the training set costs little.
    data = Dataset("ising-phases", x, y, x[:batch_size], y[:batch_size], ["disordered", "ordered"], [0.0], [1.0])
    config = TrainConfig(
        model="(prebuilt)",
        epochs=epochs,
        batch_size=batch_size,
        optimizer="adam",
        lr=lr,
        seed=seed,
        threads=threads,
        device=device,
        amp="off",
        label_smoothing=label_smoothing,
        eval_every_epoch=False,
    )
    history = fit(config, data, net=net, log=None, progress=False)
    return history.metric("train_loss")


@torch.no_grad()
def predict_ordered(net: nn.Module, x: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """P(ordered) (class 1) for each configuration, (N,), computed where ``net`` lives.

    Small batches keep the activations of a 64 x 64 lattice in cache (faster than large ones).
    """
    net.eval()
    device = next(net.parameters()).device
    out = [F.softmax(net(x[i : i + batch_size].to(device)), dim=1)[:, 1].cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0)


def crossing(temperatures, curve) -> float:
    """Temperature where a decreasing curve crosses 1/2 (linear interpolation; NaN if it never does)."""
    T, p = np.asarray(temperatures, dtype=float), np.asarray(curve, dtype=float)
    below = np.flatnonzero(p < 0.5)
    if below.size == 0 or below[0] == 0:
        return float("nan")
    i = below[0]
    return float(T[i - 1] + (p[i - 1] - 0.5) * (T[i] - T[i - 1]) / (p[i - 1] - p[i]))


def bootstrap_crossings(temperatures, probabilities: list[np.ndarray], n: int, rng) -> np.ndarray:
    """Crossings of ``n`` bootstrap curves: each temperature's samples resampled with replacement.

    Args:
        probabilities: per temperature, the P(ordered) of its test samples (counts may differ).

    Shape: returns (n,).
    """
    curves = np.empty((n, len(probabilities)))
    for t, p in enumerate(probabilities):
        p = np.asarray(p, dtype=float)
        curves[:, t] = p[rng.integers(0, len(p), size=(n, len(p)))].mean(axis=1)
    return np.array([crossing(temperatures, c) for c in curves])
