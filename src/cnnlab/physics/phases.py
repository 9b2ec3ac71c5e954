"""Learning the phases of the Ising model and estimating Tc (Carrasquilla & Melko, Nat. Phys. 2017).

A CNN with circular padding (the lattice is periodic) is trained on configurations far from the
transition, ordered (T < 2.0, label 1) and disordered (T > 2.5, label 0). It then predicts
P(ordered) on held-out configurations at every temperature; the curve crosses 1/2 at Tc(L). The
finite-size estimates are extrapolated with ``Tc(L) = Tc + a L^(-1/nu)``, nu = 1 (2-D Ising).
Errors: a bootstrap over the test configurations and the spread of the crossings of independently
trained networks (an ensemble per size, whose P(ordered) curves are averaged).

The classifier respects the Z2 symmetry of the Hamiltonian (flipping every spin) by construction:
:class:`Z2Symmetric` averages the logits of ``x`` and ``-x``, so ``P(x) == P(-x)`` exactly.

The same is done with a dense network (one hidden layer of 100, as in the paper) for comparison;
:func:`run_tc` reports both, with the accuracy in the critical region 2.0 <= T <= 2.5.

Example:
    >>> import torch
    >>> net = Z2Symmetric(build("flatten-linear(4)-relu-linear", (1, 4, 4), 2, seed=0))
    >>> x = torch.randn(3, 1, 4, 4)
    >>> torch.equal(net(x), net(-x))
    True
    >>> crossing([1.0, 2.0, 3.0], [0.9, 0.7, 0.1])   # P = 1/2 between T = 2 and 3
    2.333333333333333
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.engine import build
from cnnlab.physics import dataset as ising_data
from cnnlab.physics.exact import TC

__all__ = [
    "CNN_SPEC",
    "DENSE_SPEC",
    "TcConfig",
    "TcResult",
    "Z2Symmetric",
    "bootstrap_crossings",
    "crossing",
    "ensemble_size",
    "extrapolate",
    "predict_ordered",
    "run_tc",
    "train_classifier",
]

CNN_SPEC = "conv(8,3,p=1,mode=circular)-relu-maxpool(2)-conv(8,3,p=1,mode=circular)-relu-gap-linear(16)-relu-linear"
DENSE_SPEC = "flatten-linear(100)-relu-linear"


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


@dataclass
class TcConfig:
    """Settings of :func:`run_tc` (saved in the run folder)."""

    sizes: list[int] = field(default_factory=lambda: [16, 32])
    temperatures: list[float] = field(default_factory=lambda: np.round(np.arange(1.0, 3.5 + 1e-9, 0.05), 10).tolist())
    samples: int = 256
    train_below: float = 2.0
    train_above: float = 2.5
    model: str = CNN_SPEC
    dense_model: str = DENSE_SPEC
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    bootstrap: int = 200
    ensemble: int = 3
    seed: int = 0
    thermalization: int | None = None
    threads: int = 1


@dataclass
class TcResult:
    """Everything :func:`run_tc` measured; ``to_dict`` is the ``--json`` output."""

    config: TcConfig
    tc_estimate: float
    tc_error: float
    tc_fit_slope: float
    per_size: dict = field(default_factory=dict)  # L -> curves, Tc(L), accuracies
    dataset_path: str = ""

    def to_dict(self) -> dict:
        tc_by_size = {str(L): r["cnn"]["tc"] for L, r in self.per_size.items()}
        tc_err_by_size = {str(L): r["cnn"]["tc_error"] for L, r in self.per_size.items()}
        return {
            "tc_estimate": self.tc_estimate,
            "tc_error": self.tc_error,
            "tc_exact": TC,
            "relative_error": abs(self.tc_estimate - TC) / TC,
            "tc_fit_slope": self.tc_fit_slope,
            "tc_by_size": tc_by_size,
            "tc_error_by_size": tc_err_by_size,
            "per_size": {str(L): r for L, r in self.per_size.items()},
            "dataset": self.dataset_path,
            "config": asdict(self.config),
        }


def train_classifier(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, batch_size: int, lr: float, seed: int
) -> list[float]:
    """Adam on cross-entropy, shuffled mini-batches; returns the mean loss of each epoch."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
    return losses


@torch.no_grad()
def predict_ordered(net: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """P(ordered) (class 1) for each configuration, (N,)."""
    net.eval()
    return np.concatenate(
        [F.softmax(net(x[i : i + batch_size]), dim=1)[:, 1].numpy() for i in range(0, len(x), batch_size)]
    )


def crossing(temperatures, curve) -> float:
    """Temperature where a decreasing curve crosses 1/2 (linear interpolation; NaN if it never does)."""
    T, p = np.asarray(temperatures, dtype=float), np.asarray(curve, dtype=float)
    below = np.flatnonzero(p < 0.5)
    if below.size == 0 or below[0] == 0:
        return float("nan")
    i = below[0]
    return float(T[i - 1] + (p[i - 1] - 0.5) * (T[i] - T[i - 1]) / (p[i - 1] - p[i]))


def bootstrap_crossings(temperatures, probabilities: np.ndarray, n: int, rng) -> np.ndarray:
    """Crossings of ``n`` bootstrap curves: samples resampled with replacement at each T.

    Shape: ``probabilities`` (temperatures, samples) -> (n,).
    """
    n_t, m = probabilities.shape
    picks = rng.integers(0, m, size=(n, n_t, m))
    curves = np.take_along_axis(probabilities[None], picks, axis=2).mean(axis=2)  # (n, temperatures)
    return np.array([crossing(temperatures, c) for c in curves])


def extrapolate(sizes, tcs, errors=None) -> tuple[float, float, float]:
    """Least-squares fit ``Tc(L) = Tc + a / L``; returns (Tc, a, error of Tc).

    The points are weighted equally: their errors cover the test sampling and the training seeds
    of one run, not every systematic effect, so no size is allowed to dominate. The fit is linear
    in the Tc(L), ``Tc = sum_i c_i Tc(L_i)``, so ``error^2 = sum_i c_i^2 error_i^2``.

    Example:
        >>> tc, a, err = extrapolate([16, 32], [2.30, 2.285], [0.004, 0.003])
        >>> round(tc, 4), round(a, 3), round(err, 4)   # Tc = 2 Tc(32) - Tc(16)
        (2.27, 0.48, 0.0072)
    """
    design = np.stack([np.ones(len(sizes)), 1.0 / np.asarray(sizes, dtype=float)], axis=1)  # (sizes, 2)
    coefficients = np.linalg.pinv(design)  # rows: the weights c_i of Tc and of a
    tc, a = coefficients @ np.asarray(tcs, dtype=float)
    if errors is None:
        return float(tc), float(a), float("nan")
    err = np.sqrt(np.sum(coefficients[0] ** 2 * np.asarray(errors, dtype=float) ** 2))
    return float(tc), float(a), float(err)


def _split(temps: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Per temperature, half of the samples for training and half for the P(ordered) curve."""
    train, test = [], []
    for T in np.unique(temps):
        idx = rng.permutation(np.flatnonzero(temps == T))
        train.append(idx[: len(idx) // 2])
        test.append(idx[len(idx) // 2 :])
    return np.concatenate(train), np.concatenate(test)


def ensemble_size(config: TcConfig, L: int) -> int:
    """Networks trained at size L: ``ensemble`` at the largest L, proportionally more below.

    Small lattices are cheap (cost ~ L^2) and their crossings scatter most, while the 1/L fit
    weighs them fully, so they get ``ensemble * Lmax / L`` members.

    Example:
        >>> ensemble_size(TcConfig(sizes=[16, 32], ensemble=3), 16)
        6
    """
    return config.ensemble * max(1, round(max(config.sizes) / L))


def _fit_and_score(spec: str, L: int, x, T, train, test, config: TcConfig) -> dict:
    """Train :func:`ensemble_size` networks (seeds seed, seed+1, ...), average their P(ordered)."""
    far = train[(T[train] < config.train_below) | (T[train] > config.train_above)]
    xs = torch.as_tensor(x, dtype=torch.float32).unsqueeze(1)  # (N, 1, L, L)
    labels = torch.as_tensor(config.train_below > T, dtype=torch.int64)
    grid = np.unique(T)
    members, losses = [], []
    for seed in range(config.seed, config.seed + ensemble_size(config, L)):
        net = Z2Symmetric(build(spec, (1, L, L), 2, seed=seed))
        losses.append(
            train_classifier(
                net, xs[far], labels[far], epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, seed=seed
            )
        )
        members.append(predict_ordered(net, xs[test]))
    p = np.mean(members, axis=0)
    probs = np.stack([p[T[test] == t] for t in grid])  # (temperatures, samples)
    curve = probs.mean(axis=1)
    boot = bootstrap_crossings(grid, probs, config.bootstrap, np.random.default_rng(config.seed))
    # Training randomness: the spread of the members' crossings, / sqrt(members) for the average.
    member_tcs = [crossing(grid, [m[T[test] == t].mean() for t in grid]) for m in members]
    seed_err = float(np.std(member_tcs, ddof=1) / np.sqrt(len(members))) if len(members) > 1 else 0.0
    critical = (T[test] >= config.train_below) & (T[test] <= config.train_above)
    correct = (p > 0.5) == (T[test] < TC)
    return {
        "spec": spec,
        "parameters": sum(q.numel() for q in net.parameters()),
        "losses": losses,
        "curve": curve.tolist(),
        "curve_error": (probs.std(axis=1) / np.sqrt(probs.shape[1])).tolist(),
        "tc": crossing(grid, curve),
        "tc_error": float(np.hypot(np.nanstd(boot), seed_err)),
        "tc_bootstrap_error": float(np.nanstd(boot)),
        "tc_members": member_tcs,
        "accuracy": float(correct.mean()),
        "accuracy_critical": float(correct[critical].mean()),
    }


@contextmanager
def _torch_threads(n: int):
    """Run with ``n`` torch threads (small networks run fastest on one), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_tc(config: TcConfig, *, data=None, cache: bool = True, progress: bool = False) -> TcResult:
    """Generate (or load from the cache) the data, train per size, find Tc(L), extrapolate.

    Args:
        config: sizes, temperature grid, samples, models, training settings; ``threads`` is
            used by the Monte Carlo and by torch.
        data: an :class:`cnnlab.physics.dataset.IsingData` to use instead of generating.
        cache: reuse/save the generated data under ``$CNNLAB_DATA/ising``.
    """
    with _torch_threads(config.threads):
        return _run_tc(config, data, cache, progress)


def _run_tc(config: TcConfig, data, cache: bool, progress: bool) -> TcResult:
    torch.manual_seed(config.seed)
    path = ""
    if data is None:
        target = ising_data.cache_path(
            config.sizes, config.temperatures, config.samples, config.seed, config.thermalization
        )
        if cache and target.is_file():
            data = ising_data.load(target)
        else:
            data = ising_data.generate(
                config.sizes,
                config.temperatures,
                config.samples,
                seed=config.seed,
                thermalization=config.thermalization,
                threads=config.threads,
                progress=progress,
            )
            if cache:
                ising_data.save(data, target)
        path = str(target) if cache else ""
    per_size = {}
    rng = np.random.default_rng(config.seed)
    for L in config.sizes:
        T = data.temperatures[L]
        train, test = _split(T, rng)
        per_size[L] = {
            "temperatures": np.unique(T).tolist(),
            "cnn": _fit_and_score(config.model, L, data.spins[L], T, train, test, config),
            "dense": _fit_and_score(config.dense_model, L, data.spins[L], T, train, test, config),
        }
    tcs = [per_size[L]["cnn"]["tc"] for L in config.sizes]
    errs = [per_size[L]["cnn"]["tc_error"] for L in config.sizes]
    if len(config.sizes) >= 2:
        tc, slope, err = extrapolate(config.sizes, tcs, errs)
    else:
        tc, slope, err = tcs[0], float("nan"), errs[0]
    return TcResult(config, tc, err, slope, per_size, path)
