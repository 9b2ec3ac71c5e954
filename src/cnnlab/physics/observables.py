"""Error bars for Markov-chain averages, and the thermodynamic observables of the Ising model.

Successive Monte Carlo measurements are correlated, so the naive error sigma/sqrt(n) is too small
by sqrt(2 tau_int). Two standard estimators (Sokal 1997; Janke 2002):

- the **integrated autocorrelation time** ``tau_int = 1/2 + sum_t rho(t)`` with Sokal's automatic
  window (stop summing at the smallest W with W >= c * tau_int(W));
- **binning**: averages over blocks of 2^k measurements become independent once the block is much
  longer than tau_int; the error computed from block means grows with k and levels off at the
  true error.

Non-linear observables (susceptibility, specific heat, Binder cumulant) get their errors from the
**jackknife** over independent units (chains, or time blocks longer than tau_int).

Time series have shape ``(chains, n)``: independent chains along axis 0, measurements along axis 1.

Example:
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4, 4000))            # uncorrelated: tau_int = 1/2
    >>> round(float(integrated_autocorrelation_time(x)), 1)
    0.5
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "autocorrelation",
    "binning_errors",
    "integrated_autocorrelation_time",
    "jackknife",
    "mean_error",
    "summarize",
]


def _as_chains(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"time series must have shape (n,) or (chains, n) with n >= 2, got {x.shape}")
    return x


def autocorrelation(x) -> np.ndarray:
    """Normalised autocorrelation rho(t), t = 0..n-1, averaged over chains (FFT, O(n log n)).

    Example:
        >>> float(autocorrelation([1.0, -1.0, 1.0, -1.0])[1])
        -0.75
    """
    x = _as_chains(x)
    n = x.shape[1]
    d = x - x.mean(axis=1, keepdims=True)
    f = np.fft.rfft(d, n=2 * n, axis=1)  # zero-padded: linear, not circular, correlation
    acov = np.fft.irfft(f * np.conj(f), axis=1)[:, :n].mean(axis=0) / n
    return acov / acov[0] if acov[0] > 0 else np.zeros(n)


def integrated_autocorrelation_time(x, c: float = 6.0) -> float:
    """tau_int = 1/2 + sum_{t=1}^{W} rho(t), W the smallest window with W >= c tau_int(W).

    Shape: ``x`` is (n,) or (chains, n); returns a float >= 1/2 in units of measurements
    (a constant series has tau_int = 1/2 by convention).
    """
    rho = autocorrelation(x)
    taus = 0.5 + np.cumsum(rho[1:])
    windows = np.arange(1, len(rho))
    ok = np.flatnonzero(windows >= c * taus)
    tau = taus[ok[0]] if ok.size else taus[-1]
    return float(max(tau, 0.5))


def binning_errors(x) -> list[tuple[int, float]]:
    """Error of the mean from block averages, for block sizes 1, 2, 4, ... (>= 16 blocks in total).

    With B blocks of size b the error is ``sqrt(var(block means) * b / N)``; measurements beyond
    the last whole block are left out of the variance but N counts them all.

    Returns:
        ``[(block_size, error), ...]``; the error levels off at the true one once blocks are much
        longer than tau_int (then ``error(1)^2 / error(b)^2 ~ 1 / (2 tau_int)``).

    Example:
        >>> [(b, round(e, 3)) for b, e in binning_errors(np.tile([1.0, -1.0], (2, 16)))][:2]
        [(1, 0.126), (2, 0.0)]
    """
    x = _as_chains(x)
    chains, n = x.shape
    rows, size = [], 1
    while chains * (n // size) >= 16:
        blocks = x[:, : (n // size) * size].reshape(chains, -1, size).mean(axis=2).reshape(-1)
        rows.append((size, float(np.sqrt(blocks.var(ddof=1) * size / x.size))))
        size *= 2
    return rows


MIN_CHAINS = 16


def mean_error(x) -> tuple[float, float, float]:
    """Mean, its error, and tau_int, for a series (n,) or independent chains (chains, n).

    With at least ``MIN_CHAINS`` chains the error comes straight from the scatter of the chain
    means (independent by construction, so no model of the autocorrelation is needed);
    otherwise it is ``sqrt(2 tau_int var / N)``.

    Example:
        >>> m, e, tau = mean_error(np.ones((2, 10)))
        >>> m, e, tau
        (1.0, 0.0, 0.5)
    """
    x = _as_chains(x)
    tau = integrated_autocorrelation_time(x)
    if x.shape[0] >= MIN_CHAINS:
        err = x.mean(axis=1).std(ddof=1) / np.sqrt(x.shape[0])
    else:
        err = np.sqrt(2 * tau * x.var() / x.size)
    return float(x.mean()), float(err), tau


def jackknife(func, samples: np.ndarray) -> tuple[float, float]:
    """Bias-corrected jackknife estimate and error of ``func(mean of samples)`` from independent units.

    Args:
        func: maps a mean vector (k,) to a number.
        samples: (units, k) per-unit averages of the k primary quantities.

    Example:
        >>> est, err = jackknife(lambda m: m[0] ** 2, np.array([[1.0], [2.0], [3.0]]))
        >>> round(est, 4), round(err, 4)   # bias-corrected: mean^2 - var/n = 4 - 1/3
        (3.6667, 2.3154)
    """
    samples = np.asarray(samples, dtype=np.float64)
    n = samples.shape[0]
    if n < 2:
        raise ValueError(f"jackknife needs at least 2 independent units, got {n}")
    total = samples.sum(axis=0)
    leave_one_out = np.array([func((total - s) / (n - 1)) for s in samples])
    full = func(total / n)
    bias_corrected = n * full - (n - 1) * leave_one_out.mean()
    return float(bias_corrected), float(np.sqrt((n - 1) * leave_one_out.var()))


def _units(x: np.ndarray, tau: float, min_units: int = 32) -> np.ndarray:
    """Per-unit means (units, k) of stacked series x (k, chains, n): chains split into blocks.

    Blocks are made as long as possible (>= 4 tau_int when the data allow) while giving at least
    ``min_units`` units, so that they are close to independent.
    """
    _, chains, n = x.shape
    per_chain = max(1, min(-(-min_units // chains), int(n // max(4 * tau, 1))))
    per_chain = min(per_chain, n)
    size = n // per_chain
    blocks = x[:, :, : per_chain * size].reshape(x.shape[0], chains, per_chain, size).mean(axis=3)
    return blocks.reshape(x.shape[0], -1).T


def summarize(energy, magnetization, T: float, L: int) -> dict[str, float]:
    """Thermodynamic averages with error bars from per-chain time series.

    Args:
        energy: energy per spin, (chains, n) or (n,).
        magnetization: magnetization per spin (signed), same shape.
        T: temperature; L: lattice side (N = L*L spins).

    Returns:
        ``energy_per_spin``, ``abs_magnetization``, ``susceptibility`` = N (<m^2> - <|m|>^2)/T,
        ``specific_heat`` = N (<e^2> - <e>^2)/T^2, ``binder`` = 1 - <m^4>/(3 <m^2>^2), each
        with an ``_error`` (:func:`mean_error`; jackknife for the last three), the
        ``tau_int_energy`` and ``tau_int_abs_magnetization`` (in measurements), the number of
        ``measurements``, and the binning errors of e and |m| (``*_binning_error``) as a
        cross-check.
    """
    e, m = _as_chains(energy), np.abs(_as_chains(magnetization))
    if e.shape != m.shape:
        raise ValueError(f"energy and magnetization must have the same shape, got {e.shape} and {m.shape}")
    n_spins = L * L
    e_mean, e_err, tau_e = mean_error(e)
    m_mean, m_err, tau_m = mean_error(m)
    units = _units(np.stack([e, e**2, m, m**2, m**4]), max(tau_e, tau_m))
    out = {
        "T": float(T),
        "L": int(L),
        "energy_per_spin": e_mean,
        "energy_per_spin_error": e_err,
        "abs_magnetization": m_mean,
        "abs_magnetization_error": m_err,
    }
    derived = {
        "susceptibility": lambda a: n_spins * (a[3] - a[2] ** 2) / T,
        "specific_heat": lambda a: n_spins * (a[1] - a[0] ** 2) / T**2,
        "binder": lambda a: 1 - a[4] / (3 * a[3] ** 2) if a[3] > 0 else 0.0,
    }
    for name, func in derived.items():
        if units.shape[0] >= 2:
            out[name], out[name + "_error"] = jackknife(func, units)
        else:
            out[name], out[name + "_error"] = float(func(units.mean(axis=0))), float("nan")
    out.update(
        tau_int_energy=tau_e,
        tau_int_abs_magnetization=tau_m,
        measurements=int(e.size),
        energy_per_spin_binning_error=_plateau(e),
        abs_magnetization_binning_error=_plateau(m),
    )
    return out


def _plateau(x: np.ndarray) -> float:
    """Binning error at the largest block size that still leaves >= 64 blocks (a cross-check)."""
    rows = [err for size, err in binning_errors(x) if x.shape[0] * (x.shape[1] // size) >= 64]
    return rows[-1] if rows else float("nan")
