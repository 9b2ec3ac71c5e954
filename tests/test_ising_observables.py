"""Error analysis: autocorrelation time, binning, jackknife, and the Ising observables."""

import math

import numpy as np
import pytest

from cnnlab.physics.observables import (
    autocorrelation,
    binning_errors,
    integrated_autocorrelation_time,
    jackknife,
    mean_error,
    summarize,
)


def _ar1(phi: float, chains: int, n: int, seed: int = 0) -> np.ndarray:
    """x_t = phi x_{t-1} + noise, started in equilibrium: rho(t) = phi^t, tau_int = (1+phi)/(2(1-phi))."""
    rng = np.random.default_rng(seed)
    x = np.empty((chains, n))
    x[:, 0] = rng.normal(size=chains) / math.sqrt(1 - phi**2)
    noise = rng.normal(size=(chains, n))
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x


def test_autocorrelation_of_ar1_is_geometric():
    rho = autocorrelation(_ar1(0.7, 16, 5000))
    np.testing.assert_allclose(rho[:5], 0.7 ** np.arange(5), atol=0.02)


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.8])
def test_integrated_autocorrelation_time_of_ar1(phi):
    tau = integrated_autocorrelation_time(_ar1(phi, 16, 5000, seed=1))
    assert tau == pytest.approx((1 + phi) / (2 * (1 - phi)), rel=0.1)


def _true_error(phi, size):
    """Error of the mean of an AR(1) series: sqrt(2 tau var / N), var = 1/(1-phi^2)."""
    return math.sqrt(2 * (1 + phi) / (2 * (1 - phi)) / (1 - phi**2) / size)


def test_error_of_the_mean_from_tau_int_with_few_chains():
    phi = 0.8
    x = _ar1(phi, 4, 20000, seed=2)
    _, err, _ = mean_error(x)
    assert err == pytest.approx(_true_error(phi, x.size), rel=0.1)
    assert err > 2.5 * x.std() / math.sqrt(x.size)  # correlations matter: sqrt(2 tau) = 3


def test_error_of_the_mean_from_chain_scatter_with_many_chains():
    phi = 0.8
    x = _ar1(phi, 256, 1000, seed=4)
    _, err, _ = mean_error(x)
    assert err == pytest.approx(_true_error(phi, x.size), rel=0.15)
    plateau = binning_errors(x)[-2][1]  # blocks of 256 >> tau, 512 blocks
    assert plateau == pytest.approx(_true_error(phi, x.size), rel=0.15)


def test_binning_errors_grow_to_a_plateau():
    rows = binning_errors(_ar1(0.8, 8, 4096, seed=3))
    sizes = [b for b, _ in rows]
    errors = [e for _, e in rows]
    assert sizes[:4] == [1, 2, 4, 8]
    assert errors[0] < errors[3] < errors[5] * 1.1


def test_jackknife_of_a_linear_function_is_the_standard_error():
    x = np.array([[1.0], [4.0], [2.0], [7.0]])
    est, err = jackknife(lambda m: 3 * m[0], x)
    assert est == pytest.approx(3 * 3.5)
    assert err == pytest.approx(3 * x[:, 0].std(ddof=1) / 2)  # std/sqrt(n), n = 4


def test_jackknife_needs_two_units():
    with pytest.raises(ValueError, match="at least 2 independent units"):
        jackknife(lambda m: m[0], np.ones((1, 1)))


def test_summarize_on_a_two_state_ordered_system():
    # m = +-1 exactly, e constant: chi = C = 0, Binder = 2/3, errors 0.
    rng = np.random.default_rng(0)
    m = rng.choice([-1.0, 1.0], size=(4, 100))
    e = np.full((4, 100), -2.0)
    out = summarize(e, m, T=1.0, L=8)
    assert out["energy_per_spin"] == -2.0 and out["energy_per_spin_error"] == 0.0
    assert out["abs_magnetization"] == 1.0
    assert out["susceptibility"] == pytest.approx(0.0, abs=1e-12)
    assert out["specific_heat"] == pytest.approx(0.0, abs=1e-12)
    assert out["binder"] == pytest.approx(2 / 3)
    assert out["measurements"] == 400


def test_summarize_fluctuation_formulas():
    # Independent Gaussian m with variance s2: chi = N (<m^2> - <|m|>^2) / T = N s2 (1 - 2/pi) / T,
    # Binder = 1 - 3 s2^2 / (3 s2^2) = 0.
    rng = np.random.default_rng(1)
    s2, N, T = 0.01, 64, 2.0
    m = rng.normal(scale=math.sqrt(s2), size=(64, 2000))
    e = rng.normal(scale=0.1, size=(64, 2000))
    out = summarize(e, m, T=T, L=8)
    assert out["susceptibility"] == pytest.approx(N * s2 * (1 - 2 / math.pi) / T, rel=0.03)
    assert out["binder"] == pytest.approx(0.0, abs=0.01)
    assert out["specific_heat"] == pytest.approx(N * 0.01 / T**2, rel=0.03)
    assert out["susceptibility_error"] > 0 and out["binder_error"] > 0


def test_input_validation():
    with pytest.raises(ValueError, match="time series must have shape"):
        mean_error(np.ones(1))
    with pytest.raises(ValueError, match="same shape"):
        summarize(np.ones((2, 10)), np.ones((2, 9)), T=1.0, L=4)
