"""Monte Carlo simulation of the 2-D Ising ferromagnet (square lattice, J = 1, periodic boundaries).

:func:`simulate` runs many chains at many temperatures and returns their time series of energy
and magnetization; :meth:`Simulation.observables` turns them into averages with error bars
(:mod:`cnnlab.physics.observables`). Two algorithms:

- ``"metropolis"``: checkerboard Metropolis, multi-spin coded (64 chains per machine word,
  :mod:`cnnlab.physics.msc`) — the fast path, for any temperature;
- ``"wolff"``: the cluster algorithm (:mod:`cnnlab.physics.wolff`) — few chains, but no critical
  slowing down near Tc.

For comparison the plain versions of the checkerboard update are here too: NumPy int8 spins with
one uniform number per spin (:func:`checkerboard_sweep`, the speed baseline) and the same in
PyTorch (:func:`torch_checkerboard_sweep`, which runs on a GPU).

Example:
    >>> sim = simulate(8, [1.5], sweeps=200, chains=64, seed=0)
    >>> sim.energy.shape                       # (temperatures, chains, measurements)
    (1, 64, 200)
    >>> obs = sim.observables()[0]
    >>> bool(abs(obs["energy_per_spin"] - (-1.95)) < 0.02)   # L = 8 is close to Onsager's -1.951
    True
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field

import numpy as np

from cnnlab.physics.msc import WORD, MultiSpinLattice, check_lattice_size
from cnnlab.physics.observables import summarize
from cnnlab.physics.wolff import energy_magnetization, wolff_steps

__all__ = [
    "ALGORITHMS",
    "Simulation",
    "SimulationConfig",
    "check_temperatures",
    "checkerboard_sweep",
    "simulate",
    "torch_checkerboard_sweep",
]

ALGORITHMS = ("metropolis", "wolff")


def check_temperatures(temperatures) -> np.ndarray:
    """Temperatures as a 1-D float array, or a ValueError naming the rule (finite, > 0)."""
    temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    if temps.ndim != 1 or temps.size == 0 or not np.all(np.isfinite(temps)) or np.any(temps <= 0):
        raise ValueError(f"T (temperature) must be finite and > 0, got {np.asarray(temperatures).tolist()}")
    return temps


@dataclass
class SimulationConfig:
    """Everything needed to reproduce a :func:`simulate` run (saved with its results)."""

    L: int
    temperatures: list[float]
    algorithm: str = "metropolis"
    sweeps: int = 2000
    thermalization: int = 500
    chains: int = 64
    measure_every: int = 1
    seed: int = 0
    threads: int = 1


@dataclass
class Simulation:
    """Time series of a run: ``energy`` and ``magnetization`` per spin, (temperatures, chains, n)."""

    config: SimulationConfig
    energy: np.ndarray
    magnetization: np.ndarray
    extra: dict = field(default_factory=dict)

    def observables(self) -> list[dict]:
        """One :func:`cnnlab.physics.observables.summarize` dict per temperature.

        Autocorrelation times are converted from measurements to sweeps.
        """
        rows = []
        for i, T in enumerate(self.config.temperatures):
            row = summarize(self.energy[i], self.magnetization[i], T, self.config.L)
            for key in ("tau_int_energy", "tau_int_abs_magnetization"):
                row[key] *= self.config.measure_every
            rows.append(row)
        return rows

    def to_dict(self) -> dict:
        return {"config": asdict(self.config), "observables": self.observables(), **self.extra}


def _progress(total: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, file=sys.stderr, leave=False)


def simulate(
    L: int,
    temperatures,
    *,
    sweeps: int = 2000,
    thermalization: int | None = None,
    chains: int | None = None,
    algorithm: str = "metropolis",
    seed: int = 0,
    measure_every: int = 1,
    threads: int = 1,
    progress: bool = False,
) -> Simulation:
    """Run independent chains at each temperature and record energy and magnetization.

    Args:
        L: lattice side (even for Metropolis' checkerboard).
        temperatures: one or more temperatures > 0.
        sweeps: measured sweeps per chain (after thermalization). For Wolff a sweep is as many
            cluster flips as it takes to flip L*L spins in total.
        thermalization: sweeps discarded first (default ``max(100, sweeps // 4)``); chains
            start ordered (each all up or all down at random).
        chains: chains per temperature (default 64 for Metropolis, rounded up to a multiple of
            64; 4 for Wolff).
        measure_every: sweeps between measurements.
        threads: Metropolis worker threads.
        progress: draw a tqdm bar on stderr.

    Shape:
        ``energy``, ``magnetization``: (len(temperatures), chains, sweeps // measure_every).
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    L = check_lattice_size(L, even=algorithm == "metropolis")
    temps = check_temperatures(temperatures)
    for name, value, low in (("sweeps", sweeps, 1), ("measure_every", measure_every, 1), ("threads", threads, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    thermalization = max(100, sweeps // 4) if thermalization is None else thermalization
    if not isinstance(thermalization, int) or thermalization < 0:
        raise ValueError(f"thermalization must be an integer >= 0, got {thermalization!r}")
    chains = (WORD if algorithm == "metropolis" else 4) if chains is None else chains
    if not isinstance(chains, int) or isinstance(chains, bool) or chains < 1:
        raise ValueError(f"chains must be a positive integer, got {chains!r}")
    if algorithm == "metropolis":
        chains = -(-chains // WORD) * WORD
    config = SimulationConfig(
        L, temps.tolist(), algorithm, sweeps, thermalization, chains, measure_every, seed, threads
    )
    n = sweeps // measure_every
    if algorithm == "metropolis":
        return Simulation(config, *_run_metropolis(config, n, progress))
    return Simulation(config, *_run_wolff(config, n, progress))


def _run_metropolis(config: SimulationConfig, n: int, progress: bool):
    lattice = MultiSpinLattice.create(
        config.L, config.temperatures, chains=config.chains, start="cold", seed=config.seed, threads=config.threads
    )
    shape = (len(config.temperatures), config.chains, n)
    energy, magnet = np.empty(shape), np.empty(shape)
    with _progress(config.thermalization + n * config.measure_every, progress, "metropolis") as bar:
        for _ in range(config.thermalization):
            lattice.sweep()
            bar.update()
        for t in range(n):
            lattice.sweep(config.measure_every)
            e, m = lattice.measure()
            energy[:, :, t], magnet[:, :, t] = e.reshape(shape[:2]), m.reshape(shape[:2])
            bar.update(config.measure_every)
    return energy, magnet, {}


def _run_wolff(config: SimulationConfig, n: int, progress: bool):
    shape = (len(config.temperatures), config.chains, n)
    energy, magnet = np.empty(shape), np.empty(shape)
    seeds = np.random.SeedSequence(config.seed).spawn(shape[0] * shape[1])
    n_spins = config.L * config.L
    steps_per_sweep = []
    total = shape[0] * shape[1] * (config.thermalization + n * config.measure_every)
    with _progress(total, progress, "wolff") as bar:
        for i, T in enumerate(config.temperatures):
            for c in range(config.chains):
                rng = np.random.default_rng(seeds[i * config.chains + c])
                spins = np.full((config.L, config.L), rng.choice([-1, 1]), dtype=np.int8)
                # Thermalize, and learn the mean cluster size: a sweep is then a fixed number
                # of steps flipping about L*L spins on average.
                steps, flipped = 0, 0
                while steps < 10 or flipped < config.thermalization * n_spins:
                    flipped += wolff_steps(spins, T, rng, 1)
                    steps += 1
                per_sweep = max(1, round(n_spins * steps / flipped))
                steps_per_sweep.append(per_sweep)
                bar.update(config.thermalization)
                for t in range(n):
                    wolff_steps(spins, T, rng, per_sweep * config.measure_every)
                    energy[i, c, t], magnet[i, c, t] = energy_magnetization(spins)
                    bar.update(config.measure_every)
    return energy, magnet, {"wolff_steps_per_sweep": np.reshape(steps_per_sweep, shape[:2]).tolist()}


def _checkerboard(L: int) -> np.ndarray:
    i, j = np.indices((L, L))
    return (i + j) % 2


def checkerboard_sweep(spins: np.ndarray, T: float, rng: np.random.Generator) -> None:
    """One Metropolis sweep in plain NumPy (the speed baseline): int8 spins, a uniform per spin.

    Args:
        spins: (chains, L, L) int8 in {-1, +1}, L even; updated in place.
        T: temperature (all chains).

    Example:
        >>> s = np.ones((2, 4, 4), dtype=np.int8)
        >>> checkerboard_sweep(s, 0.1, np.random.default_rng(0)); int(s.sum())
        32
    """
    L = spins.shape[-1]
    # Acceptance min(1, exp(-2 s h / T)) indexed by s*h + 4, h = sum of the four neighbours.
    table = np.minimum(1.0, np.exp(-2.0 * np.arange(-4, 5) / T)).astype(np.float32)
    parity = _checkerboard(L).astype(bool)
    for colour in (False, True):
        h = np.roll(spins, 1, 1) + np.roll(spins, -1, 1) + np.roll(spins, 1, 2) + np.roll(spins, -1, 2)
        p = table[(spins * h + 4).astype(np.intp)]
        flip = (rng.random(spins.shape, dtype=np.float32) < p) & (parity == colour)
        spins[flip] *= -1


def torch_checkerboard_sweep(spins, T: float, generator=None) -> None:
    """:func:`checkerboard_sweep` in PyTorch (runs where ``spins`` lives, e.g. on a CUDA GPU).

    Args:
        spins: (chains, L, L) int8 tensor in {-1, +1}, L even; updated in place.
        T: temperature (all chains).

    Example:
        >>> import torch
        >>> s = torch.ones(2, 4, 4, dtype=torch.int8)
        >>> torch_checkerboard_sweep(s, 0.1); int(s.sum())
        32
    """
    import torch

    L = spins.shape[-1]
    table = torch.clamp(torch.exp(-2.0 * torch.arange(-4, 5, device=spins.device) / T), max=1.0)
    parity = torch.as_tensor(_checkerboard(L), device=spins.device).bool()
    for colour in (False, True):
        h = spins.roll(1, 1) + spins.roll(-1, 1) + spins.roll(1, 2) + spins.roll(-1, 2)
        p = table[(spins * h + 4).long()]
        u = torch.rand(spins.shape, device=spins.device, generator=generator)
        flip = (u < p) & (parity == colour)
        spins.mul_(1 - 2 * flip.to(torch.int8))
