"""Bounds on every size a user controls in the Ising commands, checked before anything is allocated.

A mistyped argument (``--T 0.1:1000000:0.00001``, ``--L 1000000``, ``--chains 1e9``) must be
refused at once with a one-line reason, not hang or exhaust memory. Each check names the argument,
the rule and the value; the estimates say what the request would cost.

=================  ==========================================================================
quantity           bound
=================  ==========================================================================
L                  2 <= L <= ``MAX_L`` (4096)
temperatures       at most ``MAX_TEMPERATURES`` (2000) per run, each finite and > 0
chains             at most ``MAX_CHAINS`` (2^20) per temperature
samples            at most ``MAX_SAMPLES`` (2^20) per temperature
sweeps             at most ``MAX_SWEEPS`` (10^8) per chain
memory             estimated arrays <= ``MAX_BYTES`` (8 GiB)
work               estimated spin updates <= ``MAX_UPDATES`` (10^14: hours at ~5 updates/ns)
=================  ==========================================================================

Example:
    >>> check_count("sweeps", 2000, MAX_SWEEPS)
    2000
    >>> temperature_count(0.1, 1000000, 0.00001)
    Traceback (most recent call last):
    ...
    ValueError: --T: START:STOP:STEP gives 99999990001 temperatures; at most 2000 are allowed
"""

from __future__ import annotations

import math

__all__ = [
    "MAX_BYTES",
    "MAX_CHAINS",
    "MAX_L",
    "MAX_SAMPLES",
    "MAX_SWEEPS",
    "MAX_TEMPERATURES",
    "MAX_UPDATES",
    "check_count",
    "check_work",
    "temperature_count",
]

MAX_L = 4096
MAX_TEMPERATURES = 2000
MAX_CHAINS = 2**20
MAX_SAMPLES = 2**20
MAX_SWEEPS = 10**8
MAX_BYTES = 8 * 2**30
MAX_UPDATES = 10**14


def check_count(name: str, value, high: int, low: int = 1) -> int:
    """``value`` as an int in [low, high], or a ValueError naming ``name``, the rule and the value."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}, got {value!r}")
    return value


def temperature_count(start: float, stop: float, step: float, name: str = "--T") -> int:
    """Number of temperatures in the inclusive range START:STOP:STEP, refused above the bound."""
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_TEMPERATURES:
        raise ValueError(f"{name}: START:STOP:STEP gives {count} temperatures; at most {MAX_TEMPERATURES} are allowed")
    return count


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} B"  # pragma: no cover


def check_work(L: int, chains: int, sweeps: int, *, bytes_per_chain: float = 0.0, what: str = "simulation") -> None:
    """Refuse a run whose estimated memory or number of spin updates exceeds the bounds.

    Args:
        L: lattice side; chains: all chains of the run (every temperature).
        sweeps: sweeps per chain (thermalization included).
        bytes_per_chain: memory per chain besides its spins (recorded series, saved samples).
    """
    check_count("L (lattice side)", L, MAX_L, low=2)
    memory = chains * (L * L / 8 + bytes_per_chain)  # multi-spin coding: one bit per spin
    if memory > MAX_BYTES:
        raise ValueError(
            f"{what}: {chains} chains of {L}x{L} would need about {_human(memory)} of memory "
            f"(limit {_human(MAX_BYTES)}); use fewer chains, samples or temperatures"
        )
    updates = float(chains) * L * L * sweeps
    if updates > MAX_UPDATES:
        raise ValueError(
            f"{what}: {chains} chains x {L}x{L} spins x {sweeps} sweeps = {updates:.3g} spin updates "
            f"(limit {MAX_UPDATES:.0e}, hours of work); use fewer sweeps, chains or temperatures"
        )
