"""Finite-size scaling: the weighted 1/L fit, the Binder crossing on small lattices, the data collapse."""

import numpy as np
import pytest

from cnnlab.physics import fss
from cnnlab.physics.exact import TC
from cnnlab.physics.ising import simulate


def test_extrapolate_recovers_a_line_and_weights_by_the_errors():
    sizes = [8, 16, 32, 64]
    fit = fss.extrapolate(sizes, [2.27 + 0.5 / L for L in sizes], [0.01] * 4)
    assert fit.tc == pytest.approx(2.27) and fit.slope == pytest.approx(0.5) and fit.chi2 == pytest.approx(0, abs=1e-20)
    assert fit.form == "Tc(L) = Tc + a L^(-1/1)" and fit.dof == 2
    # A point with a huge error bar is ignored; with equal bars it pulls the fit.
    values = [2.27 + 0.5 / L for L in sizes]
    values[0] += 0.2
    weighted = fss.extrapolate(sizes, values, [1e3, 0.01, 0.01, 0.01])
    assert weighted.tc == pytest.approx(2.27, abs=1e-6)
    assert abs(fss.extrapolate(sizes, values).tc - 2.27) > 0.01


def test_extrapolate_error_matches_the_scatter_of_noisy_fits():
    rng = np.random.default_rng(0)
    sizes, errors = [16, 32, 64], np.array([0.006, 0.004, 0.002])
    truth = [2.27 + 0.5 / L for L in sizes]
    fits = [fss.extrapolate(sizes, truth + errors * rng.normal(size=3), errors) for _ in range(3000)]
    tcs = np.array([f.tc for f in fits])
    # The quoted error (before the Birge factor) matches the true scatter; with it the 2-sigma
    # band covers the truth at least 95 % of the time (the factor only widens it).
    plain = fss.extrapolate(sizes, truth, errors).tc_error
    assert np.std(tcs) == pytest.approx(plain, rel=0.05)
    assert np.mean([abs(f.tc - 2.27) <= 2 * f.tc_error for f in fits]) >= 0.95


def test_extrapolate_birge_factor_and_argument_errors():
    fit = fss.extrapolate([16, 32, 64], [2.30, 2.25, 2.28], [0.001, 0.001, 0.001])  # inconsistent points
    plain = fss.extrapolate([16, 32, 64], [2.30, 2.25, 2.28], [0.001, 0.001, 0.001], nu=1.0)
    assert fit.chi2 > 100 and fit.tc_error == plain.tc_error > 0.01  # widened by sqrt(chi2/dof)
    with pytest.raises(ValueError, match="at >= 2 distinct sizes"):
        fss.extrapolate([16, 16], [2.3, 2.3])
    with pytest.raises(ValueError, match="not finite"):
        fss.extrapolate([16, 32], [2.3, float("nan")])


def test_curve_crossing_of_two_lines_and_its_error():
    T = np.linspace(2.1, 2.4, 7)
    tc, err = fss.curve_crossing(T, 0.6 - (T - 2.27), np.full(7, 0.01), 0.6 - 3 * (T - 2.27), np.full(7, 0.01))
    assert tc == pytest.approx(2.27, abs=1e-9)
    # Error propagation: two slopes differing by 2, seven points of error 0.01 -> ~0.01 * sqrt(2 / 7) / 2
    assert 0.001 < err < 0.01


def test_binder_crossing_of_small_lattices_is_near_tc():
    # Monte Carlo at L = 8 and 16 (compiled kernel): the U4 curves cross within 1 % of Onsager's Tc.
    T = np.round(np.arange(2.15, 2.40, 0.025), 4)
    curves = {}
    for L in (8, 16):
        rows = simulate(L, T, sweeps=3000, thermalization=500, chains=256, seed=L).observables()
        curves[L] = ([r["binder"] for r in rows], [r["binder_error"] for r in rows])
    tc, err = fss.curve_crossing(T, *curves[8], *curves[16])
    assert abs(tc - TC) / TC < 0.01, (tc, err)
    assert 0 < err < 0.02


@pytest.mark.parametrize("nu", [0.8, 1.0, 1.3])
def test_collapse_recovers_a_known_nu_from_synthetic_curves(nu):
    rng = np.random.default_rng(int(nu * 10))
    T = np.linspace(2.1, 2.45, 36)
    curves = {
        L: (T, 0.5 - 0.5 * np.tanh((T - 2.27) * L ** (1 / nu)) + 0.01 * rng.normal(size=T.size), np.full(T.size, 0.01))
        for L in (16, 32, 64)
    }
    c = fss.collapse(curves)
    assert c.tc == pytest.approx(2.27, abs=0.005)
    assert abs(c.nu - nu) < max(3 * c.nu_error, 0.05), c
    fixed = fss.collapse(curves, tc=2.27)
    assert fixed.tc == 2.27 and abs(fixed.nu - nu) < max(3 * fixed.nu_error, 0.05)
    # The quality is ~1 at the truth and much worse away from it.
    assert fss.collapse_quality(curves, 2.27, nu) < 3 < fss.collapse_quality(curves, 2.27, 2 * nu)


def test_collapse_needs_two_sizes_and_enough_points():
    T = np.linspace(2.1, 2.4, 5)
    with pytest.raises(ValueError, match="at least 2|>= 2 sizes"):
        fss.collapse({16: (T, T * 0 + 0.5, T * 0 + 0.01)})
    flat = {L: (T, np.ones(5), np.full(5, 0.01)) for L in (16, 32)}  # no point inside (0.05, 0.95)
    with pytest.raises(ValueError, match="sample T more finely"):
        fss.collapse(flat)
