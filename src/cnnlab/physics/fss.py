"""Finite-size scaling: from finite lattices to L -> infinity.

Near a continuous transition a finite L x L lattice sees the critical point only through the ratio
of L to the correlation length xi ~ |T - Tc|^-nu, so a dimensionless observable depends on T and L
through one variable, ``Q(T, L) = f((T - Tc) L^(1/nu))`` (corrections aside). Three uses:

- :func:`extrapolate`: a pseudo-critical temperature defined at each L (e.g. where a classifier
  says 1/2) sits at fixed ``x* = (Tc(L) - Tc) L^(1/nu)``, so ``Tc(L) = Tc + a L^(-1/nu)``: a
  straight line in ``L^(-1/nu)``, fitted by weighted least squares (2-D Ising: nu = 1);
- :func:`curve_crossing`: at T = Tc, ``Q(Tc, L) = f(0)`` for every L, so the curves of two sizes
  cross at Tc (the Binder cumulant ``U4 = 1 - <m^4> / (3 <m^2>^2)`` is the classic Q);
- :func:`collapse`: plotted against ``(T - Tc) L^(1/nu)`` the curves of all sizes fall on one;
  the (Tc, nu) that make them fall best is an estimate of both (the chi^2 per degree
  of freedom of one smooth master curve through all points, as in Houdayer & Hartmann, Phys.
  Rev. B 70, 014418, 2004, with a polynomial instead of their local interpolation).

Example:
    >>> fit = extrapolate([16, 32, 64], [2.30, 2.285, 2.2775], [0.004, 0.003, 0.002])
    >>> round(fit.tc, 4), round(fit.slope, 3), fit.dof
    (2.27, 0.48, 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "Collapse",
    "SizeFit",
    "collapse",
    "collapse_quality",
    "curve_crossing",
    "extrapolate",
    "fit_pseudo_critical",
    "weighted_mean",
]


@dataclass
class SizeFit:
    """``Tc(L) = tc + slope * L^(-1/nu)`` fitted by weighted least squares.

    ``tc_error`` is the fit's standard error, multiplied by ``sqrt(chi2/dof)`` when that exceeds 1
    (the scatter is then larger than the error bars say: the Birge ratio).
    """

    tc: float
    tc_error: float
    slope: float
    nu: float
    chi2: float
    dof: int
    form: str

    def to_dict(self) -> dict:
        return asdict(self)


def extrapolate(sizes, values, errors=None, nu: float = 1.0) -> SizeFit:
    """Fit ``values(L) = tc + slope L^(-1/nu)`` weighting each point by ``1/error^2``.

    Args:
        sizes: lattice sides (at least two distinct).
        values: pseudo-critical temperatures Tc(L).
        errors: their standard errors (default: equal weights, and the error from the scatter).
        nu: correlation-length exponent (2-D Ising: 1).

    The fit is linear in the values, ``tc = sum_i c_i values_i``, so with independent errors
    ``tc_error^2 = sum_i c_i^2 errors_i^2`` before the Birge factor.
    """
    L = np.asarray(sizes, dtype=float)
    y = np.asarray(values, dtype=float)
    if len(np.unique(L)) < 2 or len(L) != len(y):
        raise ValueError(f"extrapolate needs values at >= 2 distinct sizes, got sizes {list(sizes)}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"extrapolate: a pseudo-critical temperature is not finite: {y.tolist()}")
    sigma = None if errors is None else np.asarray(errors, dtype=float)
    if sigma is None or np.any(~np.isfinite(sigma)) or np.any(sigma <= 0):
        sigma, weighted = np.ones_like(y), False  # no usable error bars: equal weights, error from the scatter
    else:
        weighted = True
    design = np.stack([np.ones_like(L), L ** (-1.0 / nu)], axis=1) / sigma[:, None]  # (sizes, 2)
    coefficients = np.linalg.pinv(design) / sigma[None, :]  # rows: weights of tc and slope on the values
    tc, slope = coefficients @ y
    residual = (y - tc - slope * L ** (-1.0 / nu)) / sigma
    dof = len(y) - 2
    chi2 = float(np.sum(residual**2))
    if not weighted:  # the error from the scatter (needs dof > 0)
        scale = np.sqrt(chi2 / dof) if dof > 0 else np.nan
        err = float(np.sqrt(np.sum(coefficients[0] ** 2)) * scale)
    else:
        err = float(np.sqrt(np.sum((coefficients[0] * sigma) ** 2)))
        if dof > 0 and chi2 > dof:
            err *= float(np.sqrt(chi2 / dof))
    return SizeFit(float(tc), err, float(slope), float(nu), chi2, dof, f"Tc(L) = Tc + a L^(-1/{nu:g})")


def weighted_mean(values, errors) -> tuple[float, float, float]:
    """Mean of ``values`` weighted by ``1/errors^2``: (mean, its error widened by the Birge ratio, chi2).

    Example:
        >>> [round(v, 4) for v in weighted_mean([2.0, 2.2], [0.1, 0.1])]
        [2.1, 0.1, 2.0]
    """
    y, sigma = np.asarray(values, dtype=float), np.asarray(errors, dtype=float)
    w = 1.0 / sigma**2
    mean = float(np.sum(w * y) / np.sum(w))
    chi2 = float(np.sum(w * (y - mean) ** 2))
    err = float(np.sqrt(1.0 / np.sum(w)))
    if len(y) > 1 and chi2 > len(y) - 1:
        err *= float(np.sqrt(chi2 / (len(y) - 1)))
    return mean, err, chi2


def fit_pseudo_critical(sizes, values, errors, nu: float = 1.0, resolve: float = 4.0) -> dict:
    """Tc from pseudo-critical temperatures Tc(L): the 1/L fit when the data resolve its slope.

    The finite-size form is ``Tc(L) = Tc + a L^(-1/nu)``. Extrapolating amplifies the errors (with
    L = 24, 32, 64 by ~2), so the slope is kept only when it improves the fit: the weighted chi^2
    of a constant minus that of the line at least ``resolve`` (4: a at 2 sigma). Otherwise the
    weighted mean is the estimate, and half its distance to the 1/L fit is added in quadrature as
    the systematic error of that choice. Both fits are in the returned dict (``line``,
    ``constant``); ``form`` says which one was used.

    Example:
        >>> fit = fit_pseudo_critical([24, 32, 64], [2.277, 2.272, 2.265], [0.007, 0.005, 0.004])
        >>> fit["form"].startswith("Tc(L) = Tc: slope not resolved"), round(fit["tc"], 4)
        (True, 2.2693)
    """
    line = extrapolate(sizes, values, errors, nu)
    if errors is None or not np.all(np.isfinite(errors)) or np.any(np.asarray(errors) <= 0):
        return line.to_dict() | {"line": line.to_dict(), "constant": None}
    mean, mean_err, chi2_const = weighted_mean(values, errors)
    constant = {"tc": mean, "tc_error": mean_err, "chi2": chi2_const, "dof": len(values) - 1}
    improvement = chi2_const - line.chi2
    if improvement >= resolve:
        return line.to_dict() | {"line": line.to_dict(), "constant": constant, "chi2_improvement": improvement}
    systematic = abs(line.tc - mean) / 2
    return {
        "tc": mean,
        "tc_error": float(np.hypot(mean_err, systematic)),
        "slope": line.slope,
        "nu": nu,
        "chi2": chi2_const,
        "dof": len(values) - 1,
        "form": f"Tc(L) = Tc: slope not resolved (a 1/L term improves chi2 by {improvement:.2f} < {resolve:g})",
        "systematic": systematic,
        "line": line.to_dict(),
        "constant": constant,
        "chi2_improvement": improvement,
    }


def _local_fit(T: np.ndarray, y: np.ndarray, sigma: np.ndarray, degree: int) -> np.ndarray:
    """Weighted polynomial coefficients (highest first) of y(T)."""
    return np.polyfit(T, y, min(degree, len(T) - 1), w=1.0 / sigma)


def curve_crossing(T, y1, e1, y2, e2, *, degree: int = 3, bootstrap: int = 400, seed: int = 0) -> tuple[float, float]:
    """Temperature where two curves (e.g. the Binder cumulant at two sizes) cross, with its error.

    Each curve is fitted by a weighted polynomial of ``degree``; the crossing is the root of their
    difference inside the temperature range closest to the middle. The error is the spread of the
    crossings of curves redrawn from their error bars (a parametric bootstrap).

    Example:
        >>> T = np.linspace(2.1, 2.4, 7)
        >>> tc, err = curve_crossing(T, 0.6 - (T - 2.27), 0.01 + 0 * T, 0.6 - 2 * (T - 2.27), 0.01 + 0 * T)
        >>> round(tc, 3)
        2.27
    """
    T = np.asarray(T, dtype=float)
    arrays = [np.asarray(a, dtype=float) for a in (y1, e1, y2, e2)]
    y1, e1, y2, e2 = arrays
    e1, e2 = np.where(e1 > 0, e1, 1e-12), np.where(e2 > 0, e2, 1e-12)

    def root(a, b) -> float:
        diff = _local_fit(T, a, e1, degree) - _local_fit(T, b, e2, degree)
        roots = np.roots(diff) if np.any(diff[:-1]) else np.array([])
        real = roots[np.abs(roots.imag) < 1e-9].real
        inside = real[(real >= T.min()) & (real <= T.max())]
        return float(inside[np.argmin(np.abs(inside - T.mean()))]) if inside.size else float("nan")

    tc = root(y1, y2)
    rng = np.random.default_rng(seed)
    draws = np.asarray(
        [root(y1 + e1 * rng.normal(size=T.size), y2 + e2 * rng.normal(size=T.size)) for _ in range(bootstrap)]
    )
    err = float(np.nanstd(draws)) if np.isfinite(draws).sum() > 1 else float("nan")
    return tc, err


def _collapse_chi2(curves: dict, tc: float, nu: float, window, degree: int) -> tuple[float, int]:
    """chi^2 and degrees of freedom of one polynomial master curve through the scaled points."""
    xs, ys, ss = [], [], []
    for L, (T, y, s) in curves.items():
        T, y, s = (np.asarray(a, dtype=float) for a in (T, y, s))
        keep = (y >= window[0]) & (y <= window[1])
        xs.append((T[keep] - tc) * float(L) ** (1.0 / nu))
        ys.append(y[keep])
        ss.append(np.maximum(s[keep], 1e-6))
    x, y, s = np.concatenate(xs), np.concatenate(ys), np.concatenate(ss)
    degree = min(degree, len(x) - 4)  # few points: a simpler master curve
    dof = len(x) - (degree + 1) - 2  # the polynomial and (tc, nu)
    if degree < 1:
        raise ValueError(f"collapse: only {len(x)} points have y inside {window}; sample T more finely near Tc")
    scale = max(np.abs(x).max(), 1e-12)  # a well-conditioned fit
    coefficients = np.polyfit(x / scale, y, degree, w=1.0 / s)
    return float(np.sum(((y - np.polyval(coefficients, x / scale)) / s) ** 2)), dof


def collapse_quality(curves: dict, tc: float, nu: float, window=(0.2, 0.8), degree: int = 3) -> float:
    """How well ``y`` vs ``x = (T - tc) L^(1/nu)`` falls on one curve: chi^2 per degree of freedom.

    The master curve is a weighted polynomial of ``degree`` in x fitted to every size's points
    whose y lies in ``window`` (a fixed set of points, so the quality is smooth in tc and nu); 1
    means the curves agree within their error bars. ``curves[L] = (T, y, sigma)``.
    """
    chi2, dof = _collapse_chi2(curves, tc, nu, window, degree)
    return chi2 / dof


@dataclass
class Collapse:
    """Best collapse: ``tc`` and ``nu`` with errors (where S rises by 1 over its minimum, scaled)."""

    tc: float
    tc_error: float
    nu: float
    nu_error: float
    quality: float

    def to_dict(self) -> dict:
        return asdict(self)


def collapse(
    curves: dict,
    tc_range=(2.0, 2.6),
    nu_range=(0.5, 2.0),
    tc: float | None = None,
    window=(0.2, 0.8),
    degree: int = 3,
) -> Collapse:
    """Find (Tc, nu) that collapse ``curves[L] = (T, y, sigma)`` best (``tc`` given: fit nu only).

    Only points with ``window[0] <= y <= window[1]`` enter (the scaling region around the
    crossing: in the tails corrections to scaling, and curves stuck at 0 or 1, dominate), on a
    master curve polynomial of ``degree``. Measured on the CNN's curves at L = 24, 32, 64, the
    window moves nu from 0.89 (0.05-0.95) through 0.94 (0.1-0.9) to 0.98 (0.2-0.8).

    A grid search followed by Nelder-Mead on :func:`collapse_quality` (a chi^2 per degree of
    freedom, S). The errors are the half-widths of the region where the total chi^2 rises by 1,
    after scaling the error bars so that S_min = 1 when it is above (Houdayer & Hartmann 2004).

    Example:
        >>> T = np.linspace(2.1, 2.45, 36)
        >>> curves = {L: (T, 0.5 - 0.5 * np.tanh((T - 2.27) * L), 0.01 + 0 * T) for L in (16, 32, 64)}
        >>> c = collapse(curves)
        >>> round(c.tc, 3), round(c.nu, 2)
        (2.27, 1.0)
    """
    from scipy.optimize import minimize

    if len(curves) < 2:
        raise ValueError(f"collapse needs curves for >= 2 sizes, got {len(curves)}")
    tcs = np.linspace(tc_range[0], tc_range[1], 121) if tc is None else np.array([tc])
    nus = np.linspace(nu_range[0], nu_range[1], 41)
    quality = lambda t, n: collapse_quality(curves, t, n, window, degree)
    grid = np.array([[quality(t, n) for n in nus] for t in tcs])
    i, j = np.unravel_index(np.argmin(grid), grid.shape)
    inside = lambda t, n: tc_range[0] <= t <= tc_range[1] and nu_range[0] <= n <= nu_range[1]
    if tc is None:
        objective = lambda p: quality(p[0], p[1]) if inside(p[0], p[1]) else np.inf
        best = minimize(objective, [tcs[i], nus[j]], method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-6})
        t_best, n_best = best.x
    else:
        objective = lambda p: quality(tc, p[0]) if inside(tc_range[0], p[0]) else np.inf
        best = minimize(objective, [nus[j]], method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-6})
        t_best, n_best = tc, best.x[0]
    s_min = float(best.fun)
    _, dof = _collapse_chi2(curves, t_best, n_best, window, degree)
    scale = max(s_min, 1.0)  # error bars too small for the scatter: widen them (S_min -> 1)

    def half_width(f, x0: float, step: float) -> float:
        """Mean distance from x0, on both sides, to where the total chi^2 (scaled) rises by 1."""
        widths = []
        for sign in (1, -1):
            rise = lambda d, sign=sign: (f(x0 + sign * d) - s_min) * dof / scale - 1.0
            lo, hi = 0.0, step
            while rise(hi) < 0 and hi < 1e3 * step:
                lo, hi = hi, hi * 2
            for _ in range(30):  # bisection
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if rise(mid) < 0 else (lo, mid)
            widths.append(hi)
        return float(np.mean(widths))

    nu_err = half_width(lambda n: quality(t_best, n), n_best, 0.005)
    tc_err = 0.0 if tc is not None else half_width(lambda t: quality(t, n_best), t_best, 0.0005)
    return Collapse(float(t_best), tc_err, float(n_best), nu_err, s_min)
