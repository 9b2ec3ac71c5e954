"""Pooling as coarse-graining: block-spin renormalization versus max and average pooling.

The lecture compares pooling with the decimation step of the renormalization group (RG). Here the
three coarse-graining maps with blocks of b x b = 2 x 2 spins are applied repeatedly to equilibrium
configurations below, at and above Tc:

- **majority rule** (Kadanoff block spin): the block becomes the sign of its sum, a tie (sum 0)
  is broken at random. It keeps the Z2 symmetry and, for the 2-D Ising model, its flows have the
  three fixed points: ordered (|m| -> 1) below Tc, disordered (m -> 0, no correlation) above Tc,
  and the critical point, where the coarse lattice looks statistically the same at every step;
- **max pooling**: the block becomes +1 if any spin is +1. It breaks the Z2 symmetry (it favours
  +1), so every temperature flows towards the all-up lattice;
- **average pooling**: the block mean. It conserves the magnetization exactly and averages the
  fluctuations away, so the nearest-neighbour correlation of the coarse field tends to m^2/<x^2>.

Tracked along the flow: ``|m|`` (mean over samples of |mean of the lattice|) and the
nearest-neighbour correlation ``<x_i x_j> / <x_i^2>`` (which is <s_i s_j> for +-1 spins).

Example:
    >>> s = np.array([[1, 1, -1, -1], [1, -1, -1, -1], [1, 1, 1, -1], [-1, 1, -1, 1]])
    >>> majority_rule(s, np.random.default_rng(0)).tolist()   # block sums 2, -4, 2, 0 (a tie: coin)
    [[1, -1], [1, -1]]
    >>> max_pool(s).tolist(), avg_pool(s).tolist()
    ([[1, -1], [1, 1]], [[0.5, -1.0], [0.5, 0.0]])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnlab.physics.compiled import CompiledLattice
from cnnlab.physics.exact import TC
from cnnlab.physics.ising import check_temperatures
from cnnlab.physics.limits import MAX_SAMPLES, check_count, check_work
from cnnlab.physics.msc import check_lattice_size

__all__ = [
    "METHODS",
    "RGResult",
    "avg_pool",
    "flow",
    "magnetization",
    "majority_rule",
    "max_pool",
    "nn_correlation",
    "run_rg",
]


def _blocks(x: np.ndarray, b: int) -> np.ndarray:
    """(..., L, L) -> (..., L/b, L/b, b*b): the spins of each b x b block."""
    x = np.asarray(x)
    L = x.shape[-1]
    if x.shape[-2] != L or L % b:
        raise ValueError(f"lattice must be square with side divisible by the block size b={b}, got shape {x.shape}")
    n = L // b
    blocks = x.reshape(*x.shape[:-2], n, b, n, b)
    return np.moveaxis(blocks, -3, -2).reshape(*x.shape[:-2], n, n, b * b)


def majority_rule(spins: np.ndarray, rng: np.random.Generator, b: int = 2) -> np.ndarray:
    """Block spin = sign of the block's sum; ties broken by a fair coin. Shape: (..., L, L) -> (..., L/b, L/b)."""
    total = _blocks(spins, b).sum(axis=-1)
    coin = rng.choice(np.array([-1, 1], dtype=np.int8), size=total.shape)
    return np.where(total > 0, 1, np.where(total < 0, -1, coin)).astype(np.int8)


def max_pool(x: np.ndarray, b: int = 2) -> np.ndarray:
    """Largest value of each b x b block (max pooling). Shape: (..., L, L) -> (..., L/b, L/b)."""
    return _blocks(x, b).max(axis=-1)


def avg_pool(x: np.ndarray, b: int = 2) -> np.ndarray:
    """Mean of each b x b block (average pooling). Shape: (..., L, L) -> (..., L/b, L/b)."""
    return _blocks(x, b).mean(axis=-1)


def magnetization(x: np.ndarray) -> float:
    """Mean over configurations of |lattice mean|, for (N, L, L)."""
    return float(np.abs(np.asarray(x, dtype=np.float64).mean(axis=(-2, -1))).mean())


def nn_correlation(x: np.ndarray) -> float:
    """<x_i x_j> / <x_i^2> over nearest-neighbour pairs (periodic), for (N, L, L); 0 for a zero field.

    Example:
        >>> nn_correlation(np.array([[[1, -1], [-1, 1]]]))   # antiferromagnetic 2 x 2
        -1.0
    """
    x = np.asarray(x, dtype=np.float64)
    pairs = 0.5 * (x * np.roll(x, 1, axis=-1) + x * np.roll(x, 1, axis=-2)).mean()
    square = (x * x).mean()
    return float(pairs / square) if square > 0 else 0.0


METHODS = ("majority", "max", "avg")


def flow(spins: np.ndarray, method: str, steps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The lattices after 0, 1, ..., ``steps`` coarse-graining steps (b = 2) with ``method``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    out = [np.asarray(spins)]
    for _ in range(steps):
        x = out[-1]
        if x.shape[-1] < 2:
            raise ValueError(f"steps={steps} is too many for L={spins.shape[-1]}: the lattice is already 1 x 1")
        out.append(majority_rule(x, rng) if method == "majority" else max_pool(x) if method == "max" else avg_pool(x))
    return out


@dataclass
class RGResult:
    """Flows of |m| and the nn correlation per temperature and method, plus example lattices."""

    L: int
    temperatures: list[float]
    samples: int
    steps: int
    seed: int
    observables: dict = field(default_factory=dict)  # method -> T -> {"L", "abs_magnetization", "nn_correlation"}
    examples: dict = field(default_factory=dict)  # method -> T -> [lattice per step] (first sample)

    def to_dict(self) -> dict:
        return {
            "L": self.L,
            "temperatures": self.temperatures,
            "samples": self.samples,
            "steps": self.steps,
            "seed": self.seed,
            "flows": self.observables,
        }


def run_rg(
    L: int = 64,
    temperatures=(1.8, TC, 3.0),
    samples: int = 64,
    steps: int = 4,
    seed: int = 0,
    thermalization: int | None = None,
) -> RGResult:
    """Equilibrium configurations at each temperature, coarse-grained ``steps`` times by each method.

    Example:
        >>> r = run_rg(L=8, temperatures=[1.0], samples=64, steps=2, thermalization=50)
        >>> list(r.observables["majority"]), r.observables["majority"]["1"]["L"]
        (['1'], [8, 4, 2])
        >>> r.observables["majority"]["1"]["abs_magnetization"][-1] > 0.99
        True
    """
    from cnnlab.physics.dataset import default_thermalization

    L = check_lattice_size(L)
    temps = check_temperatures(temperatures)
    if not isinstance(steps, int) or steps < 1 or L >> steps < 1 or L % (1 << steps):
        raise ValueError(f"steps must be >= 1 with L divisible by 2^steps; got steps={steps!r} for L={L}")
    check_count("samples", samples, MAX_SAMPLES)
    sweeps = default_thermalization(L) if thermalization is None else thermalization
    chains = -(-samples // 64) * 64
    check_work(L, len(temps) * chains, sweeps, bytes_per_chain=L * L, what="rg")
    lattice = CompiledLattice.create(L, temps, chains=samples, start="cold", seed=seed)
    lattice.sweep(sweeps)
    configs = lattice.spins().reshape(len(temps), -1, L, L)[:, :samples]
    rng = np.random.default_rng(seed)
    result = RGResult(L, temps.tolist(), samples, steps, seed)
    for method in METHODS:
        result.observables[method], result.examples[method] = {}, {}
        for T, spins in zip(temps, configs):
            lattices = flow(spins, method, steps, rng)
            key = f"{T:.6g}"
            result.observables[method][key] = {
                "L": [x.shape[-1] for x in lattices],
                "abs_magnetization": [magnetization(x) for x in lattices],
                "nn_correlation": [nn_correlation(x) for x in lattices],
            }
            result.examples[method][key] = [x[0] for x in lattices]
    return result
