"""Compiled multi-spin-coded Metropolis (numba): the fast path, same rule as :mod:`cnnlab.physics.msc`.

The trick is the one explained in :mod:`cnnlab.physics.msc` (read it first): bit ``r`` of the word
stored at a site is the spin of chain ``r`` there (1 = down), so one bitwise operation updates 64
independent chains. What changes here is *how* the work is ordered, which NumPy cannot express:

- **one site at a time, all in registers.** For a site the four "neighbour anti-aligned" masks,
  the neighbour classes (>= 2, exactly 1, exactly 0 anti-aligned: half adders) and the acceptance
  are computed without any temporary array; a word of 64 chains costs ~20 ns.
- **acceptance digit by digit, stopping early.** A chain with k anti-aligned neighbours flips if
  ``U < p_k`` (square lattice: p_1 = exp(-4/T), p_0 = exp(-8/T); k >= 2 always flips). U's binary
  digits are drawn as random words, one digit for all 64 chains per word (bit r is chain r's digit,
  so every chain has its own U). Comparing most significant digit first, a chain is decided at the
  first digit where U and p differ; the loop stops as soon as no chain of the word is still tied
  (about 7 words on average, at most ``TOTAL_BITS`` = 32). p is ``floor(p 2^32) / 2^32`` exactly as
  in the NumPy reference, so both sample the same acceptance, exact up to 2^-32.
- **one random stream per word** (xoshiro256**, Blackman & Vigna 2018, seeded from
  ``numpy.random.SeedSequence``), so a word's chains get the same numbers whatever the number of
  threads: results depend on the seed only. Words are spread over threads with ``numba.prange``.

The lattice is stored whole, ``(words, L, L)`` uint64, row-major; the checkerboard colour of site
(i, j) is ``(i + j) % 2``. The triangular lattice (the square one plus the (i+1, j+1) diagonal,
six neighbours) uses three colours ``(i + j) % 3`` (L divisible by 3), visited in a random order
each sweep, and the same acceptance with three classes: k = 2, 1, 0 anti-aligned neighbours flip
with exp(-4/T), exp(-8/T), exp(-12/T).

Example:
    >>> lat = CompiledLattice.create(8, [1.0], chains=64, start="up", seed=0)
    >>> lat.sweep(10)
    >>> e, m = lat.measure()
    >>> bool(m.mean() > 0.95), bool(e.mean() < -1.9)   # T = 1: the ordered state stays ordered
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from cnnlab.physics.msc import TOTAL_BITS, WORD, check_lattice_size

__all__ = [
    "LATTICES",
    "CompiledLattice",
    "acceptance_thresholds",
    "half_sweep_from_digits",
    "set_threads",
    "threshold_masks",
]

LATTICES = ("square", "triangular")
_U = np.uint64
_ONE, _ZERO, _ALL = _U(1), _U(0), _U(0xFFFFFFFFFFFFFFFF)
_S17, _S45, _S7 = _U(17), _U(45), _U(7)
_FIVE, _NINE = _U(5), _U(9)


def acceptance_thresholds(temperatures, lattice: str = "square") -> np.ndarray:
    """``floor(p_k 2^32)`` per temperature: columns k = 2, 1, 0 anti-aligned neighbours (uint64).

    Square lattice: p = (1, exp(-4/T), exp(-8/T)) (k = 2 always flips); triangular: p = exp(-4/T),
    exp(-8/T), exp(-12/T).

    Example:
        >>> acceptance_thresholds([2.0]).tolist() == [[2**32, int(np.exp(-2) * 2**32), int(np.exp(-4) * 2**32)]]
        True
    """
    T = np.asarray(temperatures, dtype=np.float64)[:, None]
    gaps = np.array([0.0, 4.0, 8.0]) if lattice == "square" else np.array([4.0, 8.0, 12.0])
    return np.floor(np.exp(-gaps / T) * 2.0**TOTAL_BITS).astype(np.uint64)


# --- random numbers: xoshiro256** with the state in four local variables -----------------------


@njit(inline="always")
def _rotl(x, k):
    return (x << k) | (x >> (_U(64) - k))


@njit(inline="always")
def _xoshiro(s0, s1, s2, s3):
    """One 64-bit output and the next state."""
    result = _rotl(s1 * _FIVE, _S7) * _NINE
    t = s1 << _S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _S45)
    return result, s0, s1, s2, s3


# --- the update of one word ----------------------------------------------------------------------


def threshold_masks(q: np.ndarray) -> np.ndarray:
    """p's binary digits as words: ``masks[w, k, i]`` is all ones if digit i of q[w, k] is 1, else 0.

    Shape: ``q`` (words, 3) -> (words, 3, TOTAL_BITS), digit 0 most significant.
    """
    shifts = np.arange(TOTAL_BITS - 1, -1, -1, dtype=np.uint64)
    return ((q[:, :, None] >> shifts) & _ONE) * _ALL


@njit(inline="always")
def _accept(c2, c1, c0, masks, s0, s1, s2, s3):
    """Chains (bits) of classes c2, c1, c0 whose own uniform U is below p_2, p_1, p_0.

    A chain is tied while U's digits equal p's digits; at the first difference it is below if
    U's digit is 0 and p's is 1. Returns the mask of accepted chains and the new RNG state.
    """
    below, tied = _ZERO, c2 | c1 | c0
    digit = 0
    while tied != _ZERO and digit < TOTAL_BITS:
        u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        t = (c2 & masks[0, digit]) | (c1 & masks[1, digit]) | (c0 & masks[2, digit])  # p's digit per chain
        below |= tied & ~u & t
        tied &= ~(u ^ t)
        digit += 1
    return below, s0, s1, s2, s3


@njit(inline="always")
def _accept_pair(ca1, ca0, cb1, cb0, masks, s0, s1, s2, s3):
    """:func:`_accept` for two sites at once (classes k = 1, 0 only): the two comparisons
    interleave, and one loop exit replaces two hard-to-predict ones (~20 % faster)."""
    below_a, tied_a, below_b, tied_b = _ZERO, ca1 | ca0, _ZERO, cb1 | cb0
    digit = 0
    while (tied_a | tied_b) != _ZERO and digit < TOTAL_BITS:
        m1, m0 = masks[1, digit], masks[2, digit]
        u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        t = (ca1 & m1) | (ca0 & m0)
        below_a |= tied_a & ~u & t
        tied_a &= ~(u ^ t)
        u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
        t = (cb1 & m1) | (cb0 & m0)
        below_b |= tied_b & ~u & t
        tied_b &= ~(u ^ t)
        digit += 1
    return below_a, below_b, s0, s1, s2, s3


@njit(inline="always")
def _square_classes(x, n1, n2, n3, n4):
    """Masks of chains with >= 2, exactly 1 and 0 of the 4 neighbours anti-aligned (half adders)."""
    a1, a2, a3, a4 = x ^ n1, x ^ n2, x ^ n3, x ^ n4
    s1, k1 = a1 ^ a2, a1 & a2
    s2, k2 = a3 ^ a4, a3 & a4
    carry = k1 | k2
    return carry | (s1 & s2), (s1 ^ s2) & ~carry, ~(s1 | s2 | carry)


@njit(inline="always")
def _triangular_classes(x, n1, n2, n3, n4, n5, n6):
    """Masks of >= 3, exactly 2, 1 and 0 of the 6 neighbours anti-aligned (two full adders + one)."""
    a1, a2, a3, a4, a5, a6 = x ^ n1, x ^ n2, x ^ n3, x ^ n4, x ^ n5, x ^ n6
    sa, ca = a1 ^ a2 ^ a3, (a1 & a2) | (a3 & (a1 ^ a2))
    sb, cb = a4 ^ a5 ^ a6, (a4 & a5) | (a6 & (a4 ^ a5))
    bit0, carry = sa ^ sb, sa & sb
    bit1, bit2 = ca ^ cb ^ carry, (ca & cb) | (carry & (ca ^ cb))
    return bit2 | (bit1 & bit0), bit1 & ~bit0 & ~bit2, bit0 & ~bit1 & ~bit2, ~(bit0 | bit1 | bit2)


@njit(cache=True, parallel=True)
def _square_sweeps(spins, masks, state, n):  # pragma: no cover - compiled
    words, L = spins.shape[0], spins.shape[1]
    for b in prange(words):
        s0, s1, s2, s3 = state[b, 0], state[b, 1], state[b, 2], state[b, 3]
        m = masks[b]
        for _ in range(n):
            for colour in range(2):
                for i in range(L):
                    row, above, below = spins[b, i], spins[b, i - 1 if i > 0 else L - 1], spins[b, (i + 1) % L]
                    j = (i + colour) % 2
                    while j + 2 < L:  # two sites of this colour at a time: j and j + 2
                        k = j + 2
                        x, y = row[j], row[k]
                        xw, x1, x0 = _square_classes(x, above[j], below[j], row[j - 1 if j > 0 else L - 1], row[j + 1])
                        yw, y1, y0 = _square_classes(y, above[k], below[k], row[k - 1], row[k + 1 if k < L - 1 else 0])
                        ax, ay, s0, s1, s2, s3 = _accept_pair(x1, x0, y1, y0, m, s0, s1, s2, s3)
                        row[j], row[k] = x ^ (xw | ax), y ^ (yw | ay)
                        j += 4
                    if j < L:  # L/2 odd: one site left in this row
                        x = row[j]
                        xw, x1, x0 = _square_classes(
                            x, above[j], below[j], row[j - 1 if j > 0 else L - 1], row[(j + 1) % L]
                        )
                        ax, s0, s1, s2, s3 = _accept(_ZERO, x1, x0, m, s0, s1, s2, s3)
                        row[j] = x ^ (xw | ax)
        state[b, 0], state[b, 1], state[b, 2], state[b, 3] = s0, s1, s2, s3


# The order of the three colours, drawn afresh every sweep: with one fixed order, Metropolis on the
# triangular lattice is stationary but not ergodic enough (a 3 x 3 lattice at T = 4 lands 1.3 %
# off the exact energy); a random order mixes the compositions and restores the exact result.
_ORDERS = np.array([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]], dtype=np.int64)


@njit(cache=True, parallel=True)
def _triangular_sweeps(spins, masks, state, n):  # pragma: no cover - compiled
    words, L = spins.shape[0], spins.shape[1]
    for b in prange(words):
        s0, s1, s2, s3 = state[b, 0], state[b, 1], state[b, 2], state[b, 3]
        m = masks[b]
        for _ in range(n):
            u, s0, s1, s2, s3 = _xoshiro(s0, s1, s2, s3)
            order = _ORDERS[np.int64((u >> _U(11)) % _U(6))]
            for colour in order:
                for i in range(L):
                    row, above, below = spins[b, i], spins[b, i - 1 if i > 0 else L - 1], spins[b, (i + 1) % L]
                    for j in range((colour - i) % 3, L, 3):
                        x = row[j]
                        left, right = j - 1 if j > 0 else L - 1, j + 1 if j < L - 1 else 0
                        many, two, one, zero = _triangular_classes(
                            x, above[j], below[j], row[left], row[right], below[right], above[left]
                        )
                        acc, s0, s1, s2, s3 = _accept(two, one, zero, m, s0, s1, s2, s3)
                        row[j] = x ^ (many | acc)
        state[b, 0], state[b, 1], state[b, 2], state[b, 3] = s0, s1, s2, s3


@njit(inline="always")
def _add_bit_slice(counter, x):
    """Add the 64 bits of ``x`` to 64 bit-sliced counters (plane k holds digit k of every count)."""
    k = 0
    while x != _ZERO:
        counter[k], x = counter[k] ^ x, counter[k] & x
        k += 1


@njit(cache=True, parallel=True)
def _count(spins, triangular):  # pragma: no cover - compiled
    """Per word and chain: the number of down spins and of unsatisfied bonds, (words, 2, 64)."""
    words, L = spins.shape[0], spins.shape[1]
    out = np.zeros((words, 2, 64), dtype=np.int64)
    for b in prange(words):
        down, bad = np.zeros(32, dtype=np.uint64), np.zeros(32, dtype=np.uint64)
        for i in range(L):
            for j in range(L):
                x = spins[b, i, j]
                _add_bit_slice(down, x)
                # Each bond once: right, down and (triangular) down-right neighbours.
                _add_bit_slice(bad, x ^ spins[b, i, (j + 1) % L])
                _add_bit_slice(bad, x ^ spins[b, (i + 1) % L, j])
                if triangular:
                    _add_bit_slice(bad, x ^ spins[b, (i + 1) % L, (j + 1) % L])
        for r in range(64):
            for k in range(32):
                out[b, 0, r] += np.int64((down[k] >> _U(r)) & _ONE) << k
                out[b, 1, r] += np.int64((bad[k] >> _U(r)) & _ONE) << k
    return out


@njit(cache=True)
def half_sweep_from_digits(spins, colour, masks, digits):  # pragma: no cover - compiled
    """One colour of the square-lattice update with every digit of U given (tests the rule).

    Args:
        spins: (words, L, L) uint64, updated in place.
        colour: 0 or 1, the checkerboard colour updated.
        masks: (words, 3, TOTAL_BITS) from :func:`threshold_masks`.
        digits: (TOTAL_BITS, words, L, L) uint64; ``digits[i]`` holds digit i (most significant
            first) of every chain's U at every site.
    """
    words, L = spins.shape[0], spins.shape[1]
    for b in range(words):
        for i in range(L):
            for j in range((i + colour) % 2, L, 2):  # a colour's sites read only the other colour
                x = spins[b, i, j]
                two, one, zero = _square_classes(
                    x,
                    spins[b, (i - 1) % L, j],
                    spins[b, (i + 1) % L, j],
                    spins[b, i, (j - 1) % L],
                    spins[b, i, (j + 1) % L],
                )
                below, tied = _ZERO, one | zero
                for digit in range(TOTAL_BITS):
                    u, t = digits[digit, b, i, j], (one & masks[b, 1, digit]) | (zero & masks[b, 2, digit])
                    below |= tied & ~u & t
                    tied &= ~(u ^ t)
                spins[b, i, j] = x ^ (two | below)


def set_threads(threads: int) -> int:
    """Use ``threads`` numba threads (capped at the number available); returns the number used."""
    n = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]  # set at import
    numba.set_num_threads(n)
    return n


@dataclass
class CompiledLattice:
    """``words * 64`` periodic L x L Ising chains (square or triangular), each word at its own T.

    Attributes:
        L: lattice side (even for the square lattice, a multiple of 3 for the triangular one).
        temperatures: (words,) temperature of each word's 64 chains.
        words: (words, L, L) uint64 spins; chain ``64 b + r`` is bit r of word b (1 = down).
        state: (words, 4) uint64 xoshiro256** state of each word's random stream.
        lattice: ``"square"`` or ``"triangular"``.
        threads: numba threads used by :meth:`sweep` (results do not depend on it).
    """

    L: int
    temperatures: np.ndarray
    words: np.ndarray
    state: np.ndarray
    lattice: str = "square"
    threads: int = 1

    @classmethod
    def create(
        cls,
        L: int,
        temperatures,
        chains: int = WORD,
        start: str = "cold",
        seed: int = 0,
        threads: int = 1,
        lattice: str = "square",
    ) -> CompiledLattice:
        """``chains`` chains (rounded up to a multiple of 64) at each temperature.

        Args:
            start: ``"cold"`` (each chain all up or all down, at random), ``"up"`` or ``"hot"``.
            lattice: ``"square"`` (L even) or ``"triangular"`` (L a multiple of 3).
        """
        if lattice not in LATTICES:
            raise ValueError(f"lattice must be one of {', '.join(LATTICES)}, got {lattice!r}")
        L = check_lattice_size(L, even=lattice == "square")
        if lattice == "triangular" and L % 3:
            raise ValueError(f"L (lattice side) must be a multiple of 3 for the triangular 3-colour update, got {L}")
        temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
        if temps.ndim != 1 or temps.size == 0 or not np.all(np.isfinite(temps)) or np.any(temps <= 0):
            raise ValueError(f"temperatures must be finite and > 0, got {np.asarray(temperatures).tolist()}")
        if not isinstance(chains, (int, np.integer)) or isinstance(chains, bool) or chains < 1:
            raise ValueError(f"chains must be a positive integer, got {chains!r}")
        if start not in ("cold", "up", "hot"):
            raise ValueError(f"start must be 'cold', 'up' or 'hot', got {start!r}")
        n_words = len(temps) * -(-int(chains) // WORD)
        word_temps = np.repeat(temps, n_words // len(temps))
        init, streams = np.random.SeedSequence(seed).spawn(2)
        state = streams.generate_state(4 * n_words, dtype=np.uint64).reshape(n_words, 4)
        state[np.all(state == 0, axis=1), 0] = 1  # the all-zero state is xoshiro's only fixed point
        rng = np.random.default_rng(init)
        shape = (n_words, L, L)
        if start == "hot":
            words = rng.integers(0, _ALL, size=shape, dtype=np.uint64, endpoint=True)
        else:
            signs = rng.integers(0, _ALL, size=n_words, dtype=np.uint64, endpoint=True) if start == "cold" else None
            words = np.zeros(shape, dtype=np.uint64) if signs is None else np.repeat(signs, L * L).reshape(shape)
        return cls(L, word_temps, words, state, lattice, threads)

    @property
    def num_chains(self) -> int:
        return len(self.temperatures) * WORD

    @property
    def chain_temperatures(self) -> np.ndarray:
        """(num_chains,) temperature of every chain."""
        return np.repeat(self.temperatures, WORD)

    def sweep(self, n: int = 1, select=None) -> None:
        """``n`` Metropolis sweeps (every spin visited once per sweep) of every chain.

        Args:
            select: indices of the words to update (e.g. only those near Tc); default all.
        """
        if n < 1:
            return
        set_threads(self.threads)
        kernel = _square_sweeps if self.lattice == "square" else _triangular_sweeps
        if select is None:
            masks = threshold_masks(acceptance_thresholds(self.temperatures, self.lattice))
            kernel(self.words, masks, self.state, int(n))
            return
        select = np.asarray(select, dtype=np.intp)
        words, state = self.words[select], self.state[select]  # copies: updated, then written back
        kernel(words, threshold_masks(acceptance_thresholds(self.temperatures[select], self.lattice)), state, int(n))
        self.words[select], self.state[select] = words, state

    def measure(self) -> tuple[np.ndarray, np.ndarray]:
        """Energy per spin and magnetization per spin of every chain, each (num_chains,)."""
        set_threads(self.threads)
        counts = _count(self.words, self.lattice == "triangular")
        n_sites = self.L * self.L
        bonds = (3 if self.lattice == "triangular" else 2) * n_sites
        energy = (-bonds + 2.0 * counts[:, 1]) / n_sites  # each bond is -1, or +1 when unsatisfied
        magnetization = 1.0 - 2.0 * counts[:, 0] / n_sites
        return energy.reshape(-1), magnetization.reshape(-1)

    def spins(self) -> np.ndarray:
        """All configurations as int8 spins in {-1, +1}: (num_chains, L, L)."""
        B, L = len(self.temperatures), self.L
        raw = np.ascontiguousarray(self.words, dtype="<u8").view(np.uint8).reshape(B, L, L, 8)
        bits = np.unpackbits(raw, axis=3, bitorder="little")  # (B, L, L, 64)
        return (1 - 2 * bits.astype(np.int8)).transpose(0, 3, 1, 2).reshape(B * WORD, L, L)

    def set_spins(self, spins: np.ndarray) -> None:
        """Load configurations (num_chains, L, L) in {-1, +1} (e.g. from :meth:`spins`)."""
        B, L = len(self.temperatures), self.L
        spins = np.asarray(spins)
        if spins.shape != (B * WORD, L, L):
            raise ValueError(f"spins must have shape ({B * WORD}, {L}, {L}), got {spins.shape}")
        bits = (spins < 0).reshape(B, WORD, L, L).transpose(0, 2, 3, 1)  # (B, L, L, 64)
        self.words[:] = np.packbits(bits, axis=3, bitorder="little").view("<u8")[..., 0]
