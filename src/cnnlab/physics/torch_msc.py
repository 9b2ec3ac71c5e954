"""The multi-spin-coded Metropolis update in PyTorch bitwise operations: the GPU path.

Same rule as :mod:`cnnlab.physics.msc` and :mod:`cnnlab.physics.compiled` (64 chains per 64-bit
word, bit r = chain r, 1 = spin down; each chain compares its own uniform U with
``p_k = floor(exp(-4 (2 - k)/T) 2^32) / 2^32`` digit by digit), written as whole-tensor operations
so that it runs wherever the tensors live (``device="cuda"`` on a GPU). Words are int64 tensors;
only ``&``, ``|``, ``^`` and ``~`` are used, which act on the 64 bits whatever the sign.

The lattice is held as its two checkerboard sublattices ``(words, L, L/2)`` (layout of
:mod:`cnnlab.physics.msc`), so a half sweep touches only the sites it updates. Everything that
does not change between sweeps lives on the device from the start: the threshold digits of every
word (``(TOTAL_BITS, words, 1, 1)``) and the row-parity mask that picks the same-row neighbour.
U's digits are drawn in two stages: ``DENSE_DIGITS`` for every word, then the remaining digits
only for the few words that still have a tie (compacted; about 1 word in 5 at Tc).

Example:
    >>> lat = TorchLattice.create(8, [1.0], chains=64, start="up", seed=0)
    >>> lat.sweep(10)
    >>> bool(lat.magnetization().mean() > 0.95)   # T = 1: the ordered state stays ordered
    True
"""

from __future__ import annotations

import numpy as np
import torch

from cnnlab.physics.compiled import acceptance_thresholds
from cnnlab.physics.msc import TOTAL_BITS, WORD, check_lattice_size

__all__ = ["DENSE_DIGITS", "TorchLattice", "compare_digits", "neighbour_classes"]

DENSE_DIGITS = 8


def _random_words(shape, generator, device) -> torch.Tensor:
    """Uniform int64 words (all 64 bits random, up to one value in 2^64)."""
    return torch.randint(-(2**63), 2**63 - 1, shape, dtype=torch.int64, generator=generator, device=device)


def neighbour_classes(own: torch.Tensor, other: torch.Tensor, odd_rows: torch.Tensor, is_black: bool):
    """Masks of chains of sublattice ``own`` with >= 2, exactly 1 and 0 anti-aligned neighbours in ``other``.

    Row i of a sublattice holds sites j = 2c + (i % 2) (black) or 2c + 1 - (i % 2) (white): the
    vertical neighbours share column c, the horizontal ones are c and c -+ 1, by row parity.

    Shape: ``own``, ``other`` (words, L, L/2); ``odd_rows`` (1, L, 1) bool.
    """
    before, after = other.roll(1, 2), other.roll(-1, 2)  # columns c - 1 and c + 1
    side = torch.where(odd_rows, after, before) if is_black else torch.where(odd_rows, before, after)
    a1, a2, a3, a4 = own ^ other.roll(1, 1), own ^ other.roll(-1, 1), own ^ other, own ^ side
    s1, k1 = a1 ^ a2, a1 & a2
    s2, k2 = a3 ^ a4, a3 & a4
    carry = k1 | k2
    return carry | (s1 & s2), (s1 ^ s2) & ~carry, ~(s1 | s2 | carry)


def compare_digits(below, tied, one, zero, masks1, masks0, digits) -> None:
    """Continue ``U < p`` digit by digit for the chains still ``tied``, in place.

    Args:
        below, tied: accepted so far / digits equal so far (updated in place).
        one, zero: chains with 1 / 0 anti-aligned neighbours (p_1 / p_0 applies).
        masks1, masks0: p_1's / p_0's digits as all-ones or zero words, (digits, ...) broadcastable.
        digits: U's digits, (digits, *below.shape); digit 0 is the most significant here.
    """
    for u, m1, m0 in zip(digits, masks1, masks0):
        t = (one & m1) | (zero & m0)
        below |= tied & ~u & t
        tied &= ~(u ^ t)


class TorchLattice:
    """``words * 64`` periodic L x L square-lattice chains as int64 tensors on ``device``.

    Attributes:
        black, white: (words, L, L/2) int64 sublattices (layout of :mod:`cnnlab.physics.msc`).
        temperatures: (words,) numpy array.
    """

    def __init__(self, L: int, temperatures, black, white, generator, device):
        self.L, self.temperatures = L, np.asarray(temperatures, dtype=np.float64)
        self.black, self.white, self.generator, self.device = black, white, generator, torch.device(device)
        q = acceptance_thresholds(self.temperatures)  # built once: never per sweep
        shifts = np.arange(TOTAL_BITS - 1, -1, -1, dtype=np.uint64)
        bits = ((q[None, :, 1:] >> shifts[:, None, None]) & np.uint64(1)).astype(np.int64)  # (digits, words, 2)
        masks = torch.as_tensor(-bits, device=self.device)  # 1 -> all ones (-1), 0 -> 0
        self.masks1, self.masks0 = masks[..., 0, None, None], masks[..., 1, None, None]  # (digits, words, 1, 1)
        self.odd_rows = (torch.arange(L, device=self.device) % 2 == 1).view(1, L, 1)

    @classmethod
    def create(cls, L: int, temperatures, chains: int = WORD, start: str = "cold", seed: int = 0, device="cpu"):
        """``chains`` chains (rounded up to a multiple of 64) per temperature; start cold, up or hot."""
        L = check_lattice_size(L)
        temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
        if temps.size == 0 or not np.all(np.isfinite(temps)) or np.any(temps <= 0):
            raise ValueError(f"temperatures must be finite and > 0, got {temps.tolist()}")
        if start not in ("cold", "up", "hot"):
            raise ValueError(f"start must be 'cold', 'up' or 'hot', got {start!r}")
        words = len(temps) * -(-int(chains) // WORD)
        generator = torch.Generator(device=device).manual_seed(seed)
        shape = (words, L, L // 2)
        if start == "hot":
            black, white = _random_words(shape, generator, device), _random_words(shape, generator, device)
        else:
            signs = torch.zeros(words, dtype=torch.int64, device=device)
            if start == "cold":
                signs = _random_words((words,), generator, device)
            black = signs.view(-1, 1, 1).expand(shape).clone()
            white = black.clone()
        return cls(L, np.repeat(temps, words // len(temps)), black, white, generator, device)

    def half_sweep(self, black: bool, digits: torch.Tensor | None = None) -> None:
        """Update one sublattice; ``digits`` (TOTAL_BITS, words, L, L/2) fixes U (for tests)."""
        own, other = (self.black, self.white) if black else (self.white, self.black)
        at_least_two, one, zero = neighbour_classes(own, other, self.odd_rows, black)
        below, tied = torch.zeros_like(own), one | zero
        if digits is not None:
            compare_digits(below, tied, one, zero, self.masks1, self.masks0, digits)
        else:
            dense = _random_words((DENSE_DIGITS, *own.shape), self.generator, self.device)
            compare_digits(below, tied, one, zero, self.masks1[:DENSE_DIGITS], self.masks0[:DENSE_DIGITS], dense)
            # The rest only for words with a tie left: compacted, so the tail costs little.
            index = tied.reshape(-1).nonzero().squeeze(1)
            if index.numel():
                rows = index // (own.shape[1] * own.shape[2])  # word (temperature) of each compacted entry
                sub_below, sub_tied = below.reshape(-1)[index], tied.reshape(-1)[index]
                tail = _random_words((TOTAL_BITS - DENSE_DIGITS, index.numel()), self.generator, self.device)
                m1, m0 = self.masks1[DENSE_DIGITS:, rows, 0, 0], self.masks0[DENSE_DIGITS:, rows, 0, 0]
                compare_digits(sub_below, sub_tied, one.reshape(-1)[index], zero.reshape(-1)[index], m1, m0, tail)
                below.view(-1)[index] = sub_below
        own ^= at_least_two | below

    def sweep(self, n: int = 1) -> None:
        """``n`` sweeps (black then white sublattice)."""
        for _ in range(n):
            self.half_sweep(True)
            self.half_sweep(False)

    def full_words(self) -> torch.Tensor:
        """The lattice as (words, L, L) words, row-major (the layout of :mod:`cnnlab.physics.compiled`)."""
        full = torch.empty((len(self.temperatures), self.L, self.L), dtype=torch.int64, device=self.device)
        full[:, 0::2, 0::2], full[:, 1::2, 1::2] = self.black[:, 0::2], self.black[:, 1::2]
        full[:, 0::2, 1::2], full[:, 1::2, 0::2] = self.white[:, 0::2], self.white[:, 1::2]
        return full

    def set_full_words(self, full: torch.Tensor) -> None:
        """Load (words, L, L) words (inverse of :meth:`full_words`)."""
        full = torch.as_tensor(full, dtype=torch.int64, device=self.device)
        self.black[:, 0::2], self.black[:, 1::2] = full[:, 0::2, 0::2], full[:, 1::2, 1::2]
        self.white[:, 0::2], self.white[:, 1::2] = full[:, 0::2, 1::2], full[:, 1::2, 0::2]

    def spins(self) -> np.ndarray:
        """All configurations as int8 spins in {-1, +1}: (num_chains, L, L), on the host."""
        words = self.full_words().cpu().numpy().view(np.uint64)
        B, L = words.shape[0], self.L
        bits = np.unpackbits(words.astype("<u8").view(np.uint8).reshape(B, L, L, 8), axis=3, bitorder="little")
        return (1 - 2 * bits.astype(np.int8)).transpose(0, 3, 1, 2).reshape(B * WORD, L, L)

    def magnetization(self) -> np.ndarray:
        """Magnetization per spin of every chain, (num_chains,)."""
        return self.spins().mean(axis=(1, 2), dtype=np.float64)

    def measure(self) -> tuple[np.ndarray, np.ndarray]:
        """Energy and magnetization per spin of every chain (on the host), each (num_chains,)."""
        from cnnlab.physics.wolff import energy_magnetization

        return energy_magnetization(self.spins())
