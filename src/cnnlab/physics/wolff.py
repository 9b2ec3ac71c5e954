"""The Wolff cluster algorithm (Wolff 1989) for the 2-D Ising model, for temperatures near Tc.

Near Tc local Metropolis updates slow down critically (autocorrelation time ~ L^2.17); flipping a
whole cluster of aligned spins at once removes most of that. One Wolff step:

1. pick a random seed site;
2. grow the cluster: each bond from a cluster spin to an aligned neighbour outside the cluster is
   activated with probability ``p_add = 1 - exp(-2/T)`` (each bond is tested once);
3. flip the whole cluster (always accepted: the choice of p_add makes detailed balance exact).

The cluster is grown breadth first with NumPy: the whole frontier is tested in one vectorised step.
A site next to several frontier spins gets one independent test per bond, as in the sequential
algorithm. That readable version is the reference; :func:`wolff_chains` is the same algorithm
compiled with numba (a stack instead of frontiers, xoshiro256** random numbers, one stream per
chain, chains in parallel threads), about two orders of magnitude faster.

Example:
    >>> rng = np.random.default_rng(0)
    >>> spins = np.ones((8, 8), dtype=np.int8)
    >>> wolff_step(spins, 0.5, rng)   # T << Tc: p_add ~ 1, the whole lattice is one cluster
    64
    >>> int(spins.sum())
    -64
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit, prange

from cnnlab.physics.compiled import _xoshiro, set_threads

__all__ = ["energy_magnetization", "wolff_chains", "wolff_step", "wolff_steps"]


@lru_cache(maxsize=16)
def _neighbour_table(L: int) -> np.ndarray:
    """(L*L, 4) flat indices of the right, left, down and up neighbours (periodic)."""
    i, j = np.divmod(np.arange(L * L), L)
    return np.stack([i * L + (j + 1) % L, i * L + (j - 1) % L, ((i + 1) % L) * L + j, ((i - 1) % L) * L + j], axis=1)


def wolff_step(spins: np.ndarray, T: float, rng: np.random.Generator) -> int:
    """Grow one Wolff cluster and flip it, in place.

    Args:
        spins: (L, L) int8 array with values in {-1, +1}; modified in place.
        T: temperature > 0.
        rng: the random generator.

    Returns:
        The number of spins flipped (the cluster size).
    """
    L = spins.shape[0]
    flat = spins.reshape(-1)  # a view: flipping flat flips spins
    neighbours = _neighbour_table(L)
    p_add = -math.expm1(-2.0 / T)
    seed = int(rng.integers(L * L))
    aligned = flat == flat[seed]
    in_cluster = np.zeros(L * L, dtype=bool)
    in_cluster[seed] = True
    frontier = np.array([seed])
    while frontier.size:
        candidates = neighbours[frontier].reshape(-1)  # one entry per bond to test
        candidates = candidates[aligned[candidates] & ~in_cluster[candidates]]
        candidates = np.unique(candidates[rng.random(candidates.size) < p_add])
        in_cluster[candidates] = True
        frontier = candidates
    flat[in_cluster] *= -1
    return int(in_cluster.sum())


def wolff_steps(spins: np.ndarray, T: float, rng: np.random.Generator, n: int) -> int:
    """``n`` Wolff steps; returns the total number of spins flipped.

    A "sweep" is a *fixed* number of steps, about L*L / <cluster size>. (Stopping once L*L spins
    have flipped would be a data-dependent stopping time and would bias the measured state
    towards the ordered configurations that large clusters leave behind.)
    """
    return sum(wolff_step(spins, T, rng) for _ in range(n))


@njit(cache=True, parallel=True)
def _wolff_kernel(spins, p_add, state, steps, out_energy, out_magnet, flipped):  # pragma: no cover - compiled
    chains, L = spins.shape[0], spins.shape[1]
    n_sites = L * L
    for c in prange(chains):
        s0, s1, s2, s3 = state[c, 0], state[c, 1], state[c, 2], state[c, 3]
        flat = spins[c].reshape(n_sites)
        stack = np.empty(n_sites, dtype=np.int64)
        for k in range(out_energy.shape[1]):
            for _ in range(steps):
                u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                seed = np.int64((u >> np.uint64(11)) % np.uint64(n_sites))
                sign = flat[seed]
                flat[seed] = -sign  # flipped on joining: "aligned and not yet in the cluster" is "== sign"
                flipped[c] += 1
                top = 1
                stack[0] = seed
                while top:
                    top -= 1
                    site = stack[top]
                    i, j = site // L, site % L
                    for neighbour in (
                        i * L + (j + 1) % L,
                        i * L + (j - 1) % L,
                        ((i + 1) % L) * L + j,
                        ((i - 1) % L) * L + j,
                    ):
                        if flat[neighbour] == sign:
                            u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
                            if (u >> np.uint64(11)) * (1.0 / 9007199254740992.0) < p_add[c]:
                                flat[neighbour] = -sign
                                flipped[c] += 1
                                stack[top] = neighbour
                                top += 1
            total, bonds = 0, 0
            for site in range(n_sites):
                i, j = site // L, site % L
                total += flat[site]
                bonds += flat[site] * (flat[i * L + (j + 1) % L] + flat[((i + 1) % L) * L + j])
            out_energy[c, k], out_magnet[c, k] = -bonds / n_sites, total / n_sites
        state[c, 0], state[c, 1], state[c, 2], state[c, 3] = s0, s1, s2, s3


def wolff_chains(spins: np.ndarray, temperatures, state: np.ndarray, steps: int, measurements: int, threads: int = 1):
    """Compiled Wolff updates of independent chains, measuring after every ``steps`` cluster flips.

    Args:
        spins: (chains, L, L) int8 in {-1, +1}, updated in place.
        temperatures: (chains,) temperature of each chain.
        state: (chains, 4) uint64 xoshiro256** states (not all zero), updated in place.
        steps: cluster flips between measurements; measurements: how many.

    Returns:
        energy and magnetization per spin, each (chains, measurements), and the number of spins
        flipped per chain (chains,).

    Example:
        >>> spins = np.ones((2, 8, 8), dtype=np.int8)
        >>> state = np.random.SeedSequence(0).generate_state(8, dtype=np.uint64).reshape(2, 4)
        >>> e, m, flipped = wolff_chains(spins, [0.5, 0.5], state, steps=1, measurements=1)
        >>> e.tolist(), np.abs(m).tolist()   # T << Tc: the whole lattice flips as one cluster
        ([[-2.0], [-2.0]], [[1.0], [1.0]])
    """
    spins = np.ascontiguousarray(spins)
    p_add = -np.expm1(-2.0 / np.asarray(temperatures, dtype=np.float64))
    energy = np.empty((len(spins), measurements))
    magnet = np.empty((len(spins), measurements))
    flipped = np.zeros(len(spins), dtype=np.int64)
    set_threads(threads)
    _wolff_kernel(spins, p_add, state, int(steps), energy, magnet, flipped)
    return energy, magnet, flipped


def energy_magnetization(spins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy per spin and magnetization per spin of configurations (..., L, L) in {-1, +1}.

    Example:
        >>> e, m = energy_magnetization(np.array([[1, -1], [-1, 1]], dtype=np.int8))
        >>> float(e), float(m)   # L = 2: each neighbour pair is bonded twice, all anti-aligned
        (2.0, 0.0)
    """
    s = np.asarray(spins, dtype=np.int32)
    bonds = s * np.roll(s, -1, axis=-1) + s * np.roll(s, -1, axis=-2)
    n = s.shape[-1] * s.shape[-2]
    return -bonds.sum(axis=(-2, -1)) / n, s.sum(axis=(-2, -1)) / n
