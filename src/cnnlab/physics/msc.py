"""Multi-spin-coded checkerboard Metropolis: 64 independent Ising chains in every uint64 word.

Bit ``r`` of the word stored for site ``(i, j)`` is the spin of chain ``r`` at that site (bit 0 =
spin up, +1; bit 1 = spin down, -1). One NumPy bitwise operation on a word therefore updates 64
chains at once (*replica multi-spin coding*, Jacobs & Rebbi 1981). The lattice is split into its
two checkerboard sublattices (``black``: i + j even; ``white``: i + j odd) because all neighbours of
a black site are white, so a whole sublattice can be updated in parallel.

For a spin with ``k`` anti-aligned neighbours (k = 0..4) the Metropolis acceptance is
``min(1, exp(-(8 - 4k)/T))``: always for k >= 2, ``p1 = exp(-4/T)`` for k = 1 and
``p0 = exp(-8/T)`` for k = 0. ``k`` is counted with bitwise half adders. The random decision
``U < p`` must be independent for each of the 64 chains (a shared random number would couple the
chains), so U is drawn *bit-sliced*: the first ``DENSE_BITS`` binary digits of 64 uniform numbers
are ``DENSE_BITS`` random words, compared with the threshold's digits most significant first. The
few chains whose digits all tie (probability 2^-10) get more digits, ``TAIL_BITS`` at a time, on
the compacted words that still have ties. p is thus used to 32 binary digits (error < 2.4e-10),
and the chain samples the Boltzmann distribution exactly up to that rounding.

Work is done in blocks of about ``BLOCK_WORDS`` words so that the temporaries stay in cache, and
blocks can be shared among threads (NumPy releases the GIL in bitwise ufuncs and in random
generation). Random numbers come from SFC64 streams spawned from one seed.

Example:
    >>> lat = MultiSpinLattice.create(8, [1.0], chains=64, start="up", seed=0)
    >>> e, m = lat.measure()
    >>> float(e[0]), float(m[0])
    (-2.0, 1.0)
    >>> lat.sweep(10)
    >>> bool(lat.measure()[1].mean() > 0.95)   # T = 1: the ordered state stays ordered
    True
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["DENSE_BITS", "WORD", "MultiSpinLattice", "check_lattice_size"]

WORD = 64
DENSE_BITS = 10
TOTAL_BITS = 32
TAIL_BITS = 6  # digits per step of the tail stage
BLOCK_WORDS = 8192  # words per array in one step: a few arrays of 64 KiB stay in cache
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def check_lattice_size(L, *, even: bool = True) -> int:
    """``L`` as an int, or a ValueError naming the rule (checkerboard updates need even L)."""
    if not isinstance(L, (int, np.integer)) or isinstance(L, bool) or L < 2:
        raise ValueError(f"L (lattice side) must be an integer >= 2, got {L!r}")
    if even and L % 2:
        raise ValueError(f"L (lattice side) must be even for the checkerboard update, got {L}")
    return int(L)


class _Thresholds:
    """The acceptance thresholds p1 = exp(-4/T), p0 = exp(-8/T) of each word as binary digits.

    ``digits1[i, b]`` is digit i (most significant first) of p1 for word b, as an all-ones or zero
    word; ``uniform`` is True when all words share one temperature (digits become Python bools,
    which lets the dense stage pick its operands instead of computing them).
    """

    def __init__(self, temperatures: np.ndarray):
        q1 = np.floor(np.exp(-4.0 / temperatures) * 2.0**TOTAL_BITS).astype(np.uint64)
        q0 = np.floor(np.exp(-8.0 / temperatures) * 2.0**TOTAL_BITS).astype(np.uint64)
        shifts = np.arange(TOTAL_BITS - 1, -1, -1, dtype=np.uint64)[:, None]
        self.digits1 = ((q1[None] >> shifts) & np.uint64(1)) * _ALL  # (TOTAL_BITS, B)
        self.digits0 = ((q0[None] >> shifts) & np.uint64(1)) * _ALL
        self.codes = (self.digits1 & np.uint64(1)) + 2 * (self.digits0 & np.uint64(1))  # 0..3, see _tail_stage
        self.codes = self.codes.astype(np.intp)
        self.uniform = bool(np.all(temperatures == temperatures[0]))


def _xor_shifted(A: np.ndarray, O: np.ndarray, axis: int, shift: int) -> np.ndarray:
    """``A ^ roll(O, shift, axis)`` for shift = +-1 without the temporary of np.roll."""
    out = np.empty_like(A)
    n = A.shape[axis]
    lo, hi = [slice(None)] * A.ndim, [slice(None)] * A.ndim
    if shift == 1:  # out[i] = A[i] ^ O[i - 1]
        lo[axis], hi[axis] = slice(1, n), slice(0, n - 1)
        first, last = 0, n - 1
    else:  # out[i] = A[i] ^ O[i + 1]
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        first, last = n - 1, 0
    np.bitwise_xor(A[tuple(lo)], O[tuple(hi)], out=out[tuple(lo)])
    edge_a, edge_o = [slice(None)] * A.ndim, [slice(None)] * A.ndim
    edge_a[axis], edge_o[axis] = slice(first, first + 1), slice(last, last + 1)
    np.bitwise_xor(A[tuple(edge_a)], O[tuple(edge_o)], out=out[tuple(edge_a)])
    return out


def _unsatisfied(A: np.ndarray, O: np.ndarray, is_black: bool) -> tuple[np.ndarray, ...]:
    """The four "neighbour anti-aligned" masks of sublattice A (B, L, L/2) against sublattice O.

    Row i of a sublattice holds sites j = 2c + (i % 2) (black) or j = 2c + 1 - (i % 2) (white),
    so the vertical neighbours share c and the horizontal ones are c and c -+ 1, alternating by row.
    """
    up = _xor_shifted(A, O, axis=1, shift=1)
    down = _xor_shifted(A, O, axis=1, shift=-1)
    same = A ^ O
    side = np.empty_like(A)
    even_shift = 1 if is_black else -1  # black, even row: neighbour c - 1 = roll by +1
    side[:, 0::2] = _xor_shifted(A[:, 0::2], O[:, 0::2], axis=2, shift=even_shift)
    side[:, 1::2] = _xor_shifted(A[:, 1::2], O[:, 1::2], axis=2, shift=-even_shift)
    return up, down, same, side


def _neighbour_classes(a1, a2, a3, a4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of chains with >= 2, exactly 1 and 0 anti-aligned neighbours (bitwise half adders)."""
    s1, c1 = a1 ^ a2, a1 & a2
    s2, c2 = a3 ^ a4, a3 & a4
    carry = c1 | c2
    at_least_two = carry | (s1 & s2)
    one = (s1 ^ s2) & ~carry
    zero = ~(s1 | s2 | carry)
    return at_least_two, one, zero


def _dense_stage(candidates, one, zero, thresholds: _Thresholds, rng):
    """First DENSE_BITS digits of U, compared with p1 (for ``one``) or p0 (for ``zero``).

    Returns the masks ``below`` (U < p decided) and ``tied`` (all digits so far equal).
    """
    tied = candidates.copy()
    below = np.zeros_like(one)
    tie, tmp = np.empty_like(one), np.empty_like(one)
    bits = rng.integers(0, _ALL, size=(DENSE_BITS,) + one.shape, dtype=np.uint64, endpoint=True)
    for i in range(DENSE_BITS):
        np.bitwise_and(tied, bits[i], out=tie)  # bit of r set: U's digit is 0 (r = ~U is as random)
        if thresholds.uniform:
            d1, d0 = bool(thresholds.digits1[i, 0]), bool(thresholds.digits0[i, 0])
            t = {(False, False): None, (True, False): one, (False, True): zero, (True, True): candidates}[d1, d0]
        else:
            t = (one & thresholds.digits1[i][:, None, None]) | (zero & thresholds.digits0[i][:, None, None])
        if t is None:  # threshold digit 0: only U's digit 0 keeps the tie
            tied, tie = tie, tied
            continue
        np.bitwise_and(tie, t, out=tmp)
        np.bitwise_or(below, tmp, out=below)  # U's digit 0 < threshold's digit 1
        np.bitwise_and(tied, t, out=tmp)
        np.bitwise_xor(tie, tmp, out=tied)  # still equal: (0, 0) or (1, 1)
    return below, tied


def _tail_stage(below, tied, one, zero, thresholds: _Thresholds, rng) -> None:
    """Finish the comparison for the few chains with ties, ``TAIL_BITS`` digits at a time.

    Only words with ties are processed (compacted with their indices); within a chunk of digits
    ``U < p`` iff at the first digit where they differ p has a 1: with ``same[i]`` the prefix-AND
    of "digits equal", ``less[0] | OR_i (same[i-1] & less[i])``. Updates ``below`` in place.
    """
    flat_below, flat_tied = below.reshape(-1), tied.reshape(-1)
    words = np.flatnonzero(flat_tied != 0)  # a bool array is much faster to scan than uint64
    still = flat_tied[words]
    o, z = one.reshape(-1)[words], zero.reshape(-1)[words]
    which = words // (tied.shape[1] * tied.shape[2])  # batch word (temperature) of each word
    plane = DENSE_BITS
    while words.size and plane < TOTAL_BITS:
        digits = slice(plane, min(plane + TAIL_BITS, TOTAL_BITS))
        # Threshold digit word for (plane, word): 0, one, zero or one|zero, picked by a code 0..3.
        choices = np.stack([np.zeros_like(o), o, z, o | z])  # (4, n)
        if thresholds.uniform:
            t = choices[thresholds.codes[digits, 0]]  # (digits, n): whole rows
        else:
            t = np.take_along_axis(choices, thresholds.codes[digits, which], axis=0)  # (digits, n)
        r = rng.integers(0, _ALL, size=t.shape, dtype=np.uint64, endpoint=True)
        less, same = r & t, r ^ t
        np.bitwise_and.accumulate(same, axis=0, out=same)
        flat_below[words] |= still & (less[0] | np.bitwise_or.reduce(same[:-1] & less[1:], axis=0))
        still &= same[-1]
        keep = np.flatnonzero(still != 0)
        words, still, o, z, which = words[keep], still[keep], o[keep], z[keep], which[keep]
        plane = digits.stop


def _accept(one, zero, thresholds: _Thresholds, rng) -> np.ndarray:
    """Mask of chains with <= 1 anti-aligned neighbour whose uniform U is below p1 or p0."""
    below, tied = _dense_stage(one | zero, one, zero, thresholds, rng)
    _tail_stage(below, tied, one, zero, thresholds, rng)
    return below


def _column_counts(x: np.ndarray) -> np.ndarray:
    """For words ``x`` (B, ...) the number of set bits at each of the 64 positions: (B, 64)."""
    b = x.shape[0]
    as_bytes = np.ascontiguousarray(x, dtype="<u8").view(np.uint8).reshape(b, -1, 8)
    return np.unpackbits(as_bytes, axis=2, bitorder="little").sum(axis=1, dtype=np.int64)  # (B, 64)


@dataclass
class MultiSpinLattice:
    """``B * 64`` periodic L x L Ising chains, 64 per word, each word at its own temperature.

    Attributes:
        L: lattice side (even).
        temperatures: (B,) temperature of each word (of its 64 chains).
        black, white: (B, L, L/2) uint64 sublattices; chain ``64 b + r`` is bit r of word b.
        rngs: one NumPy Generator per chunk of words; chunks are updated in parallel threads.
    """

    L: int
    temperatures: np.ndarray
    black: np.ndarray
    white: np.ndarray
    rngs: list

    @classmethod
    def create(
        cls, L: int, temperatures, chains: int = WORD, start: str = "cold", seed: int = 0, threads: int = 1
    ) -> MultiSpinLattice:
        """``chains`` chains (rounded up to a multiple of 64) at each of the given temperatures.

        Args:
            start: ``"cold"`` (each chain all up or all down, at random), ``"up"``, or ``"hot"``
                (independent random spins).
            threads: number of word chunks (with their own random streams) updated in parallel;
                results are reproducible for a given ``seed`` and ``threads``.
        """
        L = check_lattice_size(L)
        temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
        if temps.ndim != 1 or not np.all(np.isfinite(temps)) or np.any(temps <= 0):
            raise ValueError(f"temperatures must be finite and > 0, got {temps.tolist()}")
        if not isinstance(chains, int) or chains < 1:
            raise ValueError(f"chains must be a positive integer, got {chains!r}")
        if start not in ("cold", "up", "hot"):
            raise ValueError(f"start must be 'cold', 'up' or 'hot', got {start!r}")
        words = -(-chains // WORD)
        word_temps = np.repeat(temps, words)
        seeds = np.random.SeedSequence(seed).spawn(max(1, min(int(threads), len(word_temps))) + 1)
        init = np.random.default_rng(seeds[0])
        shape = (len(word_temps), L, L // 2)
        if start == "hot":
            black = init.integers(0, _ALL, size=shape, dtype=np.uint64, endpoint=True)
            white = init.integers(0, _ALL, size=shape, dtype=np.uint64, endpoint=True)
        else:
            signs = np.zeros(len(word_temps), dtype=np.uint64)
            if start == "cold":
                signs = init.integers(0, _ALL, size=len(word_temps), dtype=np.uint64, endpoint=True)
            black = np.broadcast_to(signs[:, None, None], shape).copy()
            white = black.copy()
        return cls(L, word_temps, black, white, [np.random.Generator(np.random.SFC64(s)) for s in seeds[1:]])

    @property
    def num_chains(self) -> int:
        return len(self.temperatures) * WORD

    @property
    def chain_temperatures(self) -> np.ndarray:
        """(num_chains,) temperature of every chain."""
        return np.repeat(self.temperatures, WORD)

    def _sweep_part(self, part: slice, rng, n: int) -> None:
        # Blocks of a few words keep every temporary in cache; chains in different words are
        # independent, so each block can run all n sweeps before the next one starts.
        size = max(1, BLOCK_WORDS // (self.L * self.L // 2))
        for start in range(part.start, part.stop, size):
            block = slice(start, min(start + size, part.stop))
            thresholds = _Thresholds(self.temperatures[block])
            black, white = self.black[block], self.white[block]  # views: updated in place
            for _ in range(n):
                for A, O, is_black in ((black, white, True), (white, black, False)):
                    at_least_two, one, zero = _neighbour_classes(*_unsatisfied(A, O, is_black))
                    np.bitwise_xor(A, at_least_two | _accept(one, zero, thresholds, rng), out=A)

    def sweep(self, n: int = 1) -> None:
        """``n`` Metropolis sweeps (every spin visited once per sweep) of all chains."""
        bounds = np.linspace(0, len(self.temperatures), len(self.rngs) + 1).astype(int)
        parts = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        if len(parts) == 1:
            self._sweep_part(parts[0], self.rngs[0], n)
            return
        # NumPy releases the GIL inside bitwise ufuncs and random generation: threads scale.
        with ThreadPoolExecutor(len(parts)) as pool:
            for future in [pool.submit(self._sweep_part, p, r, n) for p, r in zip(parts, self.rngs)]:
                future.result()

    def measure(self) -> tuple[np.ndarray, np.ndarray]:
        """Energy per spin and magnetization per spin of every chain, each (num_chains,)."""
        n_sites = self.L * self.L
        bonds = _unsatisfied(self.black, self.white, True)  # every bond touches one black site
        # Add the four masks bit-sliced into a 3-bit counter, then count each digit.
        s1, c1 = bonds[0] ^ bonds[1], bonds[0] & bonds[1]
        s2, c2 = bonds[2] ^ bonds[3], bonds[2] & bonds[3]
        digit0, carry = s1 ^ s2, s1 & s2
        digit1, digit2 = c1 ^ c2 ^ carry, (c1 & c2) | ((c1 ^ c2) & carry)
        unsatisfied = _column_counts(digit0) + 2 * _column_counts(digit1) + 4 * _column_counts(digit2)
        down = _column_counts(self.black) + _column_counts(self.white)
        energy = (-2.0 * n_sites + 2.0 * unsatisfied) / n_sites  # 2N bonds, each -1 or +1
        magnetization = 1.0 - 2.0 * down / n_sites
        return energy.reshape(-1), magnetization.reshape(-1)

    def set_spins(self, spins: np.ndarray) -> None:
        """Load configurations (num_chains, L, L) with values in {-1, +1} (e.g. from :meth:`spins`)."""
        B, L = len(self.temperatures), self.L
        spins = np.asarray(spins)
        if spins.shape != (B * WORD, L, L):
            raise ValueError(f"spins must have shape ({B * WORD}, {L}, {L}), got {spins.shape}")
        bits = (spins < 0).reshape(B, WORD, L, L).transpose(0, 2, 3, 1)  # (B, L, L, 64)
        full = np.packbits(bits, axis=3, bitorder="little").view("<u8")[..., 0].astype(np.uint64)
        self.black[:, 0::2], self.black[:, 1::2] = full[:, 0::2, 0::2], full[:, 1::2, 1::2]
        self.white[:, 0::2], self.white[:, 1::2] = full[:, 0::2, 1::2], full[:, 1::2, 0::2]

    def spins(self) -> np.ndarray:
        """All configurations as int8 spins in {-1, +1}: (num_chains, L, L)."""
        B, L = len(self.temperatures), self.L
        full = np.empty((B, L, L), dtype=np.uint64)
        full[:, 0::2, 0::2], full[:, 1::2, 1::2] = self.black[:, 0::2], self.black[:, 1::2]
        full[:, 0::2, 1::2], full[:, 1::2, 0::2] = self.white[:, 0::2], self.white[:, 1::2]
        bits = np.unpackbits(
            np.ascontiguousarray(full, dtype="<u8").view(np.uint8).reshape(B, L, L, 8), axis=3, bitorder="little"
        )  # (B, L, L, 64)
        spins = 1 - 2 * bits.astype(np.int8)
        return spins.transpose(0, 3, 1, 2).reshape(B * WORD, L, L)
