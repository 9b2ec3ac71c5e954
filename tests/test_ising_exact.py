"""Exact Ising results: Onsager, Yang, Tc and exact enumeration, against independent oracles."""

import math

import numpy as np
import pytest

from cnnlab.physics.exact import TC, elliptic_k, enumerate_exact, onsager_energy, yang_magnetization


def _k_by_quadrature(k: float) -> float:
    """K(k) by the midpoint rule on 200k points (an oracle independent of the AGM)."""
    n = 200_000
    t = (np.arange(n) + 0.5) * (np.pi / 2) / n
    return float(np.sum(1 / np.sqrt(1 - k**2 * np.sin(t) ** 2)) * (np.pi / 2) / n)


@pytest.mark.parametrize("k", [0.0, 0.3, 0.7, 0.95, 0.999])
def test_elliptic_k_matches_quadrature(k):
    assert float(elliptic_k(k)) == pytest.approx(_k_by_quadrature(k), rel=1e-6)


def test_tc_value():
    assert pytest.approx(2.269185314213022, abs=1e-14) == TC
    assert math.sinh(2 / TC) == pytest.approx(1.0, abs=1e-14)  # self-duality: sinh(2K_c) = 1


def test_onsager_low_and_high_temperature_limits():
    # Low T: isolated flipped spins cost 8 each, density e^{-8/T}: u = -2 + 8 e^{-8/T} + O(e^{-12/T}).
    T = 0.5
    assert float(onsager_energy(T)) == pytest.approx(-2 + 8 * math.exp(-8 / T), abs=1e-8)
    # High T: -beta f = ln 2 + 2 ln cosh(beta) + t^4 + O(t^6), t = tanh(beta), so
    # u = -2t - 4t^3 (1 - t^2) + O(t^5); at T = 50 the remainder is ~ 4e-8.
    T = 50.0
    t = math.tanh(1 / T)
    assert float(onsager_energy(T)) == pytest.approx(-2 * t - 4 * t**3 * (1 - t**2), abs=1e-7)
    assert abs(float(onsager_energy(T)) + 2 * t) > 1e-5  # the t^3 term is really there


def test_onsager_is_continuous_at_tc_with_value_minus_sqrt2():
    eps = 1e-7
    for T in (TC - eps, TC, TC + eps):
        assert float(onsager_energy(T)) == pytest.approx(-math.sqrt(2), abs=1e-5)


def test_yang_magnetization_values_and_critical_exponent():
    # Hand computation at T = 2: sinh(1) = 1.1752012, 1 - sinh^-4 = 0.4762546, ^(1/8) = 0.9113194.
    assert float(yang_magnetization(2.0)) == pytest.approx(0.9113194, abs=1e-6)
    # Low T: m = 1 - 2 e^{-8/T} + O(e^{-12/T}).
    assert float(yang_magnetization(0.5)) == pytest.approx(1 - 2 * math.exp(-16), abs=1e-9)
    assert np.all(yang_magnetization([TC, 2.5, 3.0, 10.0]) == 0.0)
    # beta = 1/8: halving the distance to Tc eight times halves m.
    d = 1e-3
    ratio = float(yang_magnetization(TC - d) / yang_magnetization(TC - d / 256))
    assert ratio == pytest.approx(2.0, rel=1e-2)


def test_enumeration_2x2_by_hand():
    # 2x2 periodic: each pair is bonded twice. Energies: -8 (2 states), 0 (12), +8 (2).
    T = 2.0
    b = 1 / T
    Z = 2 * math.exp(8 * b) + 12 + 2 * math.exp(-8 * b)
    e = (2 * -8 * math.exp(8 * b) + 2 * 8 * math.exp(-8 * b)) / Z / 4
    # |M|/4: 1 for aligned (2 states), 1/2 for one flipped (8 states), 0 for two flipped (6 states).
    m = (2 * 1 * math.exp(8 * b) + 8 * 0.5) / Z
    r = enumerate_exact(2, T)
    assert r["energy_per_spin"] == pytest.approx(e, rel=1e-12)
    assert r["abs_magnetization"] == pytest.approx(m, rel=1e-12)


def test_enumeration_4x4_infinite_temperature_is_binomial():
    r = enumerate_exact(4, 1e9)
    k = np.arange(17)
    weights = np.array([math.comb(16, int(i)) for i in k]) / 2**16
    assert r["abs_magnetization"] == pytest.approx(float(np.sum(weights * np.abs(16 - 2 * k) / 16)), rel=1e-6)
    assert r["energy_per_spin"] == pytest.approx(0.0, abs=1e-6)
    assert r["m2"] == pytest.approx(1 / 16, rel=1e-6)  # independent spins: <M^2> = N


def test_enumeration_and_exact_argument_errors():
    with pytest.raises(ValueError, match="L must be an integer in 2..4"):
        enumerate_exact(5, 2.0)
    with pytest.raises(ValueError, match="temperature T must be finite and > 0"):
        onsager_energy([1.0, 0.0])
    with pytest.raises(ValueError, match="temperature T must be finite and > 0"):
        yang_magnetization(-1)


def test_triangular_tc_and_energy_against_known_values():
    from cnnlab.physics.exact import TC_TRIANGULAR, triangular_energy

    # Tc: exp(4 K_c) = 3 (star-triangle / duality); there the nearest-neighbour correlation is 2/3
    # exactly (Houtappel 1950), so u(Tc) = -3 * 2/3 = -2 (three bonds per spin).
    assert pytest.approx(4 / math.log(3)) == TC_TRIANGULAR and math.exp(4 / TC_TRIANGULAR) == pytest.approx(3)
    assert float(triangular_energy(TC_TRIANGULAR, points=2048)) == pytest.approx(-2.0, abs=1e-4)
    # Ground state and low T: an isolated flipped spin costs 12, so u = -3 + 12 e^{-12/T} + ...
    assert float(triangular_energy(0.5)) == pytest.approx(-3.0, abs=1e-9)
    assert float(triangular_energy(1.5)) == pytest.approx(-3 + 12 * math.exp(-12 / 1.5), rel=1e-4)
    # High T: ln Z/N = ln 2 + 3 ln cosh K + 2 t^3 + 3 t^4 + O(t^5) (2 triangles and 3 rhombi per site),
    # so u = -3t - 6t^2(1 - t^2) - 12 t^3 (1 - t^2) + O(t^4).
    T = 50.0
    t = math.tanh(1 / T)
    series = -3 * t - 6 * t**2 * (1 - t**2) - 12 * t**3 * (1 - t**2)
    assert float(triangular_energy(T)) == pytest.approx(series, abs=2e-5)
    assert abs(float(triangular_energy(T)) - (-3 * t - 6 * t**2 * (1 - t**2))) > 5e-5  # the t^3 term is there


def test_triangular_enumeration_3x3_at_infinite_and_zero_temperature():
    r = enumerate_exact(3, 1e9, lattice="triangular")
    assert r["energy_per_spin"] == pytest.approx(0.0, abs=1e-6) and r["m2"] == pytest.approx(1 / 9, rel=1e-6)
    assert enumerate_exact(3, 1e-3, lattice="triangular")["energy_per_spin"] == -3.0
    with pytest.raises(ValueError, match="lattice must be 'square' or 'triangular'"):
        enumerate_exact(3, 1.0, lattice="kagome")
