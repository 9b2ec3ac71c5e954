"""Exact results for the 2-D square-lattice Ising ferromagnet (J = 1, k_B = 1, no field).

- Onsager (1944): energy per spin of the infinite lattice,
  ``u(T) = -coth(2b) [1 + (2/pi) (2 tanh^2(2b) - 1) K(k)]`` with ``b = 1/T``,
  ``k = 2 sinh(2b) / cosh^2(2b)`` and K the complete elliptic integral of the first kind.
- Yang (1952): spontaneous magnetization ``m(T) = (1 - sinh(2/T)^-4)^(1/8)`` below Tc, 0 above.
- Tc = 2 / ln(1 + sqrt(2)) = 2.269185...
- Exact enumeration of all 2^(L*L) states of a small periodic lattice (L <= 4): the reference
  against which the Monte Carlo samplers are tested (square, or triangular with L = 3).
- The triangular lattice (six neighbours): Tc = 4 / ln 3 = 3.640957... and the energy per spin
  from the free energy of Houtappel (Physica 16, 425, 1950) and Wannier (Phys. Rev. 79, 357,
  1950), ``-beta f = ln 2 + 1/(8 pi^2) int int ln[c^3 + s^3 - s (cos a + cos b + cos(a+b))] da db``
  with ``c = cosh 2K``, ``s = sinh 2K``, ``K = 1/T``; at Tc the nearest-neighbour correlation is
  exactly 2/3, so ``u(Tc) = -2``.

K is computed with the arithmetic-geometric mean, ``K(k) = pi / (2 AGM(1, sqrt(1 - k^2)))``, so no
SciPy is needed.

Example:
    >>> round(TC, 6)
    2.269185
    >>> round(float(onsager_energy(2.0)), 6), round(float(yang_magnetization(2.0)), 6)
    (-1.745565, 0.911319)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "TC",
    "TC_TRIANGULAR",
    "elliptic_k",
    "enumerate_exact",
    "onsager_energy",
    "triangular_energy",
    "yang_magnetization",
]

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))
TC_TRIANGULAR = 4.0 / math.log(3.0)


def _check_temperature(T) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if not np.all(np.isfinite(T)) or np.any(T <= 0):
        raise ValueError(f"temperature T must be finite and > 0, got {T.tolist()}")
    return T


def elliptic_k(k) -> np.ndarray:
    """Complete elliptic integral of the first kind K(k) = int_0^{pi/2} dt / sqrt(1 - k^2 sin^2 t).

    Args:
        k: modulus, ``0 <= k < 1`` (array or scalar); K(1) is infinite.

    Example:
        >>> round(float(elliptic_k(0.0)), 12) == round(math.pi / 2, 12)
        True
        >>> round(float(elliptic_k(0.5)), 10)
        1.6857503548
    """
    a = np.ones_like(np.asarray(k, dtype=np.float64))
    b = np.sqrt(1.0 - np.asarray(k, dtype=np.float64) ** 2)
    # The AGM converges quadratically: 10 steps reach machine precision unless k is within
    # ~1e-300 of 1, where K is infinite anyway.
    for _ in range(64):
        a, b = (a + b) / 2, np.sqrt(a * b)
        if np.all(np.abs(a - b) <= 1e-15 * np.abs(a)):
            break
    with np.errstate(divide="ignore"):
        return np.where(np.asarray(k) >= 1, np.inf, np.pi / (2 * a))


def onsager_energy(T) -> np.ndarray:
    """Energy per spin of the infinite lattice at temperature ``T`` (Onsager).

    Args:
        T: temperature(s) > 0.

    Returns:
        ``u(T)``, same shape as ``T``; ``u(Tc) = -sqrt(2)``.

    Example:
        >>> abs(float(onsager_energy(TC)) + math.sqrt(2)) < 1e-6
        True
    """
    T = _check_temperature(T)
    b2 = 2.0 / T
    k = 2 * np.sinh(b2) / np.cosh(b2) ** 2
    prefactor = 2 * np.tanh(b2) ** 2 - 1
    # At Tc, k = 1 (K infinite) and the prefactor is 0; the product's limit is 0. Rounding can
    # put k a hair above 1 there, hence the clip.
    with np.errstate(invalid="ignore"):
        bracket = 1 + (2 / np.pi) * prefactor * elliptic_k(np.minimum(k, 1.0))
    bracket = np.where(k >= 1, 1.0, bracket)
    return -bracket / np.tanh(b2)


def yang_magnetization(T) -> np.ndarray:
    """Spontaneous magnetization per spin (Yang): ``(1 - sinh(2/T)^-4)^(1/8)`` for T < Tc, else 0.

    Example:
        >>> [round(float(m), 6) for m in yang_magnetization([1.5, 2.5])]
        [0.9865, 0.0]
    """
    T = _check_temperature(T)
    x = 1 - np.sinh(2.0 / T) ** -4.0
    return np.where(T < TC, np.clip(x, 0, None) ** 0.125, 0.0)


def triangular_energy(T, points: int = 512) -> np.ndarray:
    """Energy per spin of the infinite triangular-lattice ferromagnet (Houtappel 1950), J = 1.

    ``u = -d(-beta f)/dK`` differentiated under the integral (see the module docstring), the
    double integral by the midpoint rule on ``points`` x ``points`` nodes (spectrally accurate
    for a periodic integrand away from Tc; at Tc the log singularity is integrable and the error
    ~ 1e-4). Ground state -3 (three bonds per spin), u(Tc) = -2.

    Example:
        >>> round(float(triangular_energy(TC_TRIANGULAR)), 3), round(float(triangular_energy(0.5)), 6)
        (-2.0, -3.0)
    """
    T = _check_temperature(T)
    a = (np.arange(points) + 0.5) * (2 * np.pi / points)
    g = (np.cos(a)[:, None] + np.cos(a)[None, :] + np.cos(a[:, None] + a[None, :])).reshape(-1)  # (points^2,)
    out = []
    for t in np.atleast_1d(T).reshape(-1):
        c, s = np.cosh(2 / t), np.sinh(2 / t)
        value = c**3 + s**3 - s * g
        derivative = 2 * (3 * c * c * s + 3 * s * s * c - c * g)  # d/dK of the log's argument
        out.append(-np.mean(derivative / value) / 2)  # mean over the torus = 1/(4 pi^2) int int
    return np.reshape(out, np.shape(T))


def enumerate_exact(L: int, T: float, lattice: str = "square") -> dict[str, float]:
    """Exact thermal averages of the periodic L x L lattice by summing over all 2^(L*L) states.

    Args:
        L: lattice side, 2 <= L <= 4 (4 x 4 = 65536 states, vectorised).
        T: temperature > 0.
        lattice: ``"square"`` (bonds right and down) or ``"triangular"`` (and down-right).

    Returns:
        ``energy_per_spin``, ``abs_magnetization``, ``m2``, ``m4`` (moments of m = M/N),
        ``specific_heat`` = N (<e^2> - <e>^2) / T^2, ``susceptibility`` = N (<m^2> - <|m|>^2) / T,
        ``binder`` = 1 - <m^4> / (3 <m^2>^2).

    Example:
        >>> r = enumerate_exact(2, 1e-3)   # ground state: all bonds satisfied (L=2 counts each twice)
        >>> r["energy_per_spin"], r["abs_magnetization"]
        (-2.0, 1.0)
    """
    if not isinstance(L, int) or isinstance(L, bool) or not 2 <= L <= 4:
        raise ValueError(f"L must be an integer in 2..4 for exact enumeration (2^(L*L) states), got {L!r}")
    if lattice not in ("square", "triangular"):
        raise ValueError(f"lattice must be 'square' or 'triangular', got {lattice!r}")
    T = float(_check_temperature(T))
    n = L * L
    states = np.arange(2**n, dtype=np.int64)
    spins = (1 - 2 * ((states[:, None] >> np.arange(n)) & 1)).astype(np.int8).reshape(-1, L, L)
    s = spins.astype(np.int32)
    # Each bond once: right and down neighbours with periodic wrap.
    energy = -(s * np.roll(s, -1, axis=2) + s * np.roll(s, -1, axis=1)).sum(axis=(1, 2))
    if lattice == "triangular":
        energy = energy - (s * np.roll(s, (-1, -1), axis=(1, 2))).sum(axis=(1, 2))
    magnet = s.sum(axis=(1, 2))
    weights = np.exp(-(energy - energy.min()) / T)  # shifted by the ground state: no overflow
    weights /= weights.sum()
    e, m = energy / n, np.abs(magnet) / n
    avg = lambda x: float(np.sum(weights * x))
    e1, e2, m1, m2, m4 = avg(e), avg(e**2), avg(m), avg(m**2), avg(m**4)
    return {
        "energy_per_spin": e1,
        "abs_magnetization": m1,
        "m2": m2,
        "m4": m4,
        "specific_heat": n * (e2 - e1**2) / T**2,
        "susceptibility": n * (m2 - m1**2) / T,
        "binder": 1 - m4 / (3 * m2**2),
    }
