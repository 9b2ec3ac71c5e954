"""Monte Carlo simulation of the 2-D Ising ferromagnet (square lattice, J = 1, periodic boundaries).

:func:`simulate` runs many chains at many temperatures and returns their time series of energy
and magnetization; :meth:`Simulation.observables` turns them into averages with error bars
(:mod:`cnnlab.physics.observables`). Two algorithms:

- ``"metropolis"``: checkerboard Metropolis, multi-spin coded (64 chains per machine word) — the
  fast path, for any temperature. ``backend="compiled"`` (default) runs the numba kernel of
  :mod:`cnnlab.physics.compiled` (square or triangular lattice), ``"numpy"`` the readable
  reference :mod:`cnnlab.physics.msc`, ``"torch"`` the PyTorch bitwise version
  (:mod:`cnnlab.physics.torch_msc`, on ``device``, e.g. a GPU);
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
from functools import lru_cache

import numpy as np

from cnnlab.physics.compiled import CompiledLattice
from cnnlab.physics.limits import MAX_CHAINS, MAX_SWEEPS, MAX_TEMPERATURES, check_count, check_work
from cnnlab.physics.msc import WORD, MultiSpinLattice, check_lattice_size
from cnnlab.physics.observables import summarize
from cnnlab.physics.wolff import energy_magnetization, wolff_chains, wolff_steps

__all__ = [
    "ALGORITHMS",
    "BACKENDS",
    "Simulation",
    "SimulationConfig",
    "check_temperatures",
    "checkerboard_sweep",
    "simulate",
    "torch_checkerboard_sweep",
]

ALGORITHMS = ("metropolis", "wolff")
BACKENDS = ("compiled", "numpy", "torch")


def check_temperatures(temperatures) -> np.ndarray:
    """Temperatures as a 1-D float array, or a ValueError naming the rule (finite, > 0, not too many)."""
    temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    if temps.ndim != 1 or temps.size == 0:
        raise ValueError(f"T (temperature) must be one or more numbers, got {np.asarray(temperatures).tolist()}")
    if temps.size > MAX_TEMPERATURES:
        raise ValueError(f"T (temperature): at most {MAX_TEMPERATURES} temperatures per run, got {temps.size}")
    bad = temps[~np.isfinite(temps) | (temps <= 0)]
    if bad.size:
        raise ValueError(f"T (temperature) must be finite and > 0, got {bad[0]} in {temps.tolist()[:10]}")
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
    backend: str = "compiled"
    lattice: str = "square"
    device: str = "cpu"


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
    backend: str = "compiled",
    lattice: str = "square",
    device: str = "cpu",
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
        threads: Metropolis worker threads (the compiled backend's results do not depend on it).
        backend: Metropolis implementation: ``"compiled"``, ``"numpy"`` or ``"torch"``.
        lattice: ``"square"`` or ``"triangular"`` (compiled Metropolis only; L a multiple of 3).
        device: where the torch backend runs (``"cpu"``, ``"cuda"``).
        progress: draw a tqdm bar on stderr.

    Shape:
        ``energy``, ``magnetization``: (len(temperatures), chains, sweeps // measure_every).
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if lattice not in ("square", "triangular"):
        raise ValueError(f"lattice must be 'square' or 'triangular', got {lattice!r}")
    if lattice == "triangular" and (algorithm != "metropolis" or backend != "compiled"):
        raise ValueError("lattice='triangular' needs algorithm='metropolis' with backend='compiled'")
    L = check_lattice_size(L, even=algorithm == "metropolis" and lattice == "square")
    if lattice == "triangular" and L % 3:
        raise ValueError(f"L (lattice side) must be a multiple of 3 for the triangular 3-colour update, got {L}")
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
    check_count("chains", chains, MAX_CHAINS)
    check_count("sweeps", sweeps, MAX_SWEEPS)
    check_count("thermalization", thermalization, MAX_SWEEPS, low=0)
    # Recorded series: energy and magnetization, float64, per measurement.
    check_work(L, len(temps) * chains, thermalization + sweeps, bytes_per_chain=16 * (sweeps // measure_every))
    config = SimulationConfig(
        L,
        temps.tolist(),
        algorithm,
        sweeps,
        thermalization,
        chains,
        measure_every,
        seed,
        threads,
        backend,
        lattice,
        device,
    )
    n = sweeps // measure_every
    if algorithm == "metropolis":
        return Simulation(config, *_run_metropolis(config, n, progress))
    return Simulation(config, *_run_wolff(config, n, progress))


def _lattice(config: SimulationConfig):
    """The Metropolis lattice of the configured backend (all three: create, sweep, measure)."""
    if config.backend == "numpy":
        return MultiSpinLattice.create(
            config.L, config.temperatures, chains=config.chains, start="cold", seed=config.seed, threads=config.threads
        )
    if config.backend == "torch":
        from cnnlab.physics.torch_msc import TorchLattice

        return TorchLattice.create(
            config.L, config.temperatures, chains=config.chains, start="cold", seed=config.seed, device=config.device
        )
    return CompiledLattice.create(
        config.L,
        config.temperatures,
        chains=config.chains,
        start="cold",
        seed=config.seed,
        threads=config.threads,
        lattice=config.lattice,
    )


def _run_metropolis(config: SimulationConfig, n: int, progress: bool):
    lattice = _lattice(config)
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
    if config.backend != "numpy":
        return _run_wolff_compiled(config, n, progress)
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


def _run_wolff_compiled(config: SimulationConfig, n: int, progress: bool):
    """The compiled Wolff kernel: all chains of all temperatures at once, in parallel threads."""
    temps = np.repeat(config.temperatures, config.chains)
    n_chains, n_spins = len(temps), config.L * config.L
    init, streams = np.random.SeedSequence(config.seed).spawn(2)
    signs = np.random.default_rng(init).choice(np.array([-1, 1], dtype=np.int8), size=n_chains)
    spins = np.ascontiguousarray(np.broadcast_to(signs[:, None, None], (n_chains, config.L, config.L)))
    state = streams.generate_state(4 * n_chains, dtype=np.uint64).reshape(n_chains, 4)
    state[np.all(state == 0, axis=1), 0] = 1
    with _progress(config.thermalization + n * config.measure_every, progress, "wolff") as bar:
        # Thermalize in rounds of 10 steps, learning each chain's mean cluster size: a sweep is
        # then a fixed number of steps flipping about L*L spins on average.
        steps, flipped = 0, np.zeros(n_chains, dtype=np.int64)
        while steps < 10 or flipped.min() < config.thermalization * n_spins:
            flipped += wolff_chains(spins, temps, state, 10, 1, config.threads)[2]
            steps += 10
        bar.update(config.thermalization)
        per_sweep = np.maximum(1, np.round(n_spins * steps / flipped)).astype(int)
        energy, magnet = np.empty((n_chains, n)), np.empty((n_chains, n))
        # Chains with the same steps per sweep run together (usually one group per temperature).
        for k in np.unique(per_sweep):
            group = np.flatnonzero(per_sweep == k)
            sub_spins, sub_state = spins[group], state[group]
            e, m, _ = wolff_chains(sub_spins, temps[group], sub_state, int(k) * config.measure_every, n, config.threads)
            energy[group], magnet[group] = e, m
        bar.update(n * config.measure_every)
    shape = (len(config.temperatures), config.chains, n)
    return (
        energy.reshape(shape),
        magnet.reshape(shape),
        {"wolff_steps_per_sweep": per_sweep.reshape(shape[:2]).tolist()},
    )


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


@lru_cache(maxsize=32)
def _torch_tables(T: float, L: int, device: str):
    """Acceptance table and checkerboard mask on ``device``, built once per (T, L, device)."""
    import torch

    table = torch.clamp(torch.exp(-2.0 * torch.arange(-4, 5, device=device) / T), max=1.0)
    parity = torch.as_tensor(_checkerboard(L), device=device).bool()
    return table, parity


def torch_checkerboard_sweep(spins, T: float, generator=None) -> None:
    """:func:`checkerboard_sweep` in PyTorch (runs where ``spins`` lives, e.g. on a CUDA GPU).

    The acceptance table and the checkerboard mask are made once per (T, L, device) and kept there
    (not rebuilt and uploaded every sweep).

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

    table, parity = _torch_tables(float(T), spins.shape[-1], str(spins.device))
    for colour in (False, True):
        h = spins.roll(1, 1) + spins.roll(-1, 1) + spins.roll(1, 2) + spins.roll(-1, 2)
        p = table[(spins * h + 4).long()]
        u = torch.rand(spins.shape, device=spins.device, generator=generator)
        flip = (u < p) & (parity == colour)
        spins.mul_(1 - 2 * flip.to(torch.int8))
