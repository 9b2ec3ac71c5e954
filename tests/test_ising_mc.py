"""Monte Carlo samplers: bookkeeping, the bit-sliced acceptance, and agreement with exact results."""

import math

import numpy as np
import pytest
import torch

from cnnlab.physics import msc
from cnnlab.physics.exact import enumerate_exact, onsager_energy, yang_magnetization
from cnnlab.physics.ising import checkerboard_sweep, simulate, torch_checkerboard_sweep
from cnnlab.physics.msc import MultiSpinLattice
from cnnlab.physics.observables import mean_error
from cnnlab.physics.wolff import energy_magnetization, wolff_step


def _z(value, reference, error):
    return abs(value - reference) / error


# --- bookkeeping of the multi-spin-coded lattice -------------------------------------------------


@pytest.mark.parametrize("L", [2, 4, 6, 10])
def test_measure_matches_direct_computation_on_unpacked_spins(L):
    lattice = MultiSpinLattice.create(L, [2.0, 3.0], chains=64, start="hot", seed=L)
    lattice.sweep(3)
    e, m = lattice.measure()
    e_direct, m_direct = energy_magnetization(lattice.spins())
    np.testing.assert_allclose(e, e_direct, atol=1e-12)
    np.testing.assert_allclose(m, m_direct, atol=1e-12)


def test_spins_layout_and_set_spins_round_trip():
    lattice = MultiSpinLattice.create(6, [2.0], chains=128, start="up", seed=0)
    rng = np.random.default_rng(1)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(128, 6, 6))
    lattice.set_spins(spins)
    np.testing.assert_array_equal(lattice.spins(), spins)
    # Chain 64*b + r is bit r of word b; site (0, 0) is black column 0, site (0, 1) white column 0.
    assert int(lattice.black[1, 0, 0] >> np.uint64(5) & np.uint64(1)) == int(spins[69, 0, 0] < 0)
    assert int(lattice.white[0, 0, 0] >> np.uint64(7) & np.uint64(1)) == int(spins[7, 0, 1] < 0)
    with pytest.raises(ValueError, match=r"spins must have shape \(128, 6, 6\)"):
        lattice.set_spins(spins[:64])


def test_create_argument_errors():
    with pytest.raises(ValueError, match="must be even for the checkerboard"):
        MultiSpinLattice.create(5, [2.0])
    with pytest.raises(ValueError, match="integer >= 2"):
        MultiSpinLattice.create(0, [2.0])
    with pytest.raises(ValueError, match="temperatures must be finite and > 0"):
        MultiSpinLattice.create(4, [2.0, -1.0])
    with pytest.raises(ValueError, match="start must be"):
        MultiSpinLattice.create(4, [2.0], start="warm")


def test_threshold_digits_encode_p():
    temps = np.array([1.0, 2.269, 3.5])
    th = msc._Thresholds(temps)
    weights = 2.0 ** -np.arange(1, msc.TOTAL_BITS + 1)
    p1 = (th.digits1 != 0).astype(float).T @ weights
    p0 = (th.digits0 != 0).astype(float).T @ weights
    np.testing.assert_allclose(p1, np.exp(-4 / temps), atol=2.0**-msc.TOTAL_BITS)
    np.testing.assert_allclose(p0, np.exp(-8 / temps), atol=2.0**-msc.TOTAL_BITS)
    assert not th.uniform and msc._Thresholds(np.array([2.0, 2.0])).uniform


@pytest.mark.parametrize("T, cls", [(2.269, "one"), (2.269, "zero"), (0.53, "one")])
def test_bit_sliced_acceptance_rate(T, cls):
    # T = 0.53: p1 = 5.3e-4 < 2^-10, so every acceptance comes from the tail stage.
    shape = (16, 64, 32)  # 2^15 words = 2^21 chains-sites
    ones = np.full(shape, msc._ALL)
    zeros = np.zeros(shape, dtype=np.uint64)
    one, zero = (ones, zeros) if cls == "one" else (zeros, ones)
    th = msc._Thresholds(np.full(shape[0], T))
    accepted = msc._accept(one, zero, th, np.random.default_rng(0))
    n = 64 * accepted.size
    rate = np.unpackbits(accepted.view(np.uint8)).sum() / n
    p = math.exp(-4 / T) if cls == "one" else math.exp(-8 / T)
    assert _z(rate, p, math.sqrt(p * (1 - p) / n)) < 4.5
    # Chains with >= 2 anti-aligned neighbours (neither class) are never touched by _accept.
    none = msc._accept(zeros, zeros, th, np.random.default_rng(0))
    assert not none.any()


# --- samplers against exact enumeration of the 4 x 4 lattice --------------------------------------

KEYS = ["energy_per_spin", "abs_magnetization", "specific_heat", "susceptibility", "binder"]


@pytest.mark.parametrize("T", [1.8, 2.5, 3.5])
def test_metropolis_matches_exact_enumeration_4x4(T):
    obs = simulate(4, [T], sweeps=1500, chains=256, seed=3).observables()[0]
    exact = enumerate_exact(4, T)
    for key in KEYS:
        assert _z(obs[key], exact[key], obs[key + "_error"]) < 4.5, (key, obs[key], exact[key], obs[key + "_error"])


def test_wolff_matches_exact_enumeration_4x4():
    T = 2.3
    obs = simulate(4, [T], sweeps=1500, chains=4, algorithm="wolff", seed=5).observables()[0]
    exact = enumerate_exact(4, T)
    for key in KEYS:
        assert _z(obs[key], exact[key], obs[key + "_error"]) < 4.5, (key, obs[key], exact[key])


def test_plain_numpy_and_torch_checkerboard_match_exact_4x4():
    T, exact = 2.5, enumerate_exact(4, 2.5)
    rng = np.random.default_rng(0)
    spins = np.ones((256, 4, 4), dtype=np.int8)
    tspins = torch.ones(256, 4, 4, dtype=torch.int8)
    gen = torch.Generator().manual_seed(0)
    e_np, e_t = [], []
    for sweep in range(200):
        checkerboard_sweep(spins, T, rng)
        torch_checkerboard_sweep(tspins, T, gen)
        if sweep >= 30:
            e_np.append(energy_magnetization(spins)[0])
            e_t.append(energy_magnetization(tspins.numpy())[0])
    for series in (e_np, e_t):
        mean, err, _ = mean_error(np.array(series).T)
        assert _z(mean, exact["energy_per_spin"], err) < 4.5


def test_wolff_step_flips_a_connected_aligned_cluster():
    rng = np.random.default_rng(0)
    spins = np.ones((8, 8), dtype=np.int8)
    spins[:, 4:] = -1  # two domains: a cluster never crosses the wall
    before = spins.copy()
    size = wolff_step(spins, 1e-3, rng)  # p_add = 1: the seed's whole domain flips
    assert size == 32
    assert (spins != before).sum() == 32
    assert abs(int(spins.sum())) == 64  # the flipped domain now matches the other one


# --- validation against Onsager and Yang (L = 32: finite-size effects below the errors) ---------


@pytest.fixture(scope="module")
def l32():
    return {o["T"]: o for o in simulate(32, [1.5, 2.0, 2.6, 3.0], sweeps=2000, chains=64, seed=11).observables()}


@pytest.mark.parametrize("T", [1.5, 2.0, 2.6, 3.0])
def test_energy_matches_onsager(l32, T):
    obs = l32[T]
    assert _z(obs["energy_per_spin"], float(onsager_energy(T)), obs["energy_per_spin_error"]) < 4.5


@pytest.mark.parametrize("T", [1.5, 2.0])
def test_magnetization_matches_yang_below_tc(l32, T):
    obs = l32[T]
    assert _z(obs["abs_magnetization"], float(yang_magnetization(T)), obs["abs_magnetization_error"]) < 4.5


def test_magnetization_above_tc_is_a_finite_size_effect():
    # Above Tc, m is Gaussian with variance chi T / N: <|m|> = sqrt(2 <m^2> / pi) ~ 1/L.
    sims = {L: simulate(L, [3.0], sweeps=1000, chains=64, seed=L) for L in (16, 32)}
    absm = {}
    for L, sim in sims.items():
        m = sim.magnetization[0]
        absm[L], _err, _ = mean_error(np.abs(m))
        gaussian = math.sqrt(2 * float((m**2).mean()) / math.pi)
        assert absm[L] == pytest.approx(gaussian, rel=0.05)
        assert absm[L] < 4.0 / L
    assert absm[16] / absm[32] == pytest.approx(2.0, rel=0.08)


def test_wolff_agrees_with_metropolis_near_tc():
    T = 2.3
    met = simulate(16, [T], sweeps=2000, chains=64, seed=1).observables()[0]
    wol = simulate(16, [T], sweeps=600, chains=4, algorithm="wolff", seed=2).observables()[0]
    for key in ("energy_per_spin", "abs_magnetization", "binder"):
        err = math.hypot(met[key + "_error"], wol[key + "_error"])
        assert _z(met[key], wol[key], err) < 4.5, (key, met[key], wol[key], err)
    # The point of Wolff: far shorter autocorrelation (in sweeps) of |m| near Tc.
    assert wol["tau_int_abs_magnetization"] < met["tau_int_abs_magnetization"]


def test_simulate_argument_errors():
    with pytest.raises(ValueError, match="algorithm must be one of metropolis, wolff"):
        simulate(8, [2.0], algorithm="heatbath")
    with pytest.raises(ValueError, match=r"T \(temperature\) must be finite and > 0"):
        simulate(8, [0.0])
    with pytest.raises(ValueError, match="sweeps must be an integer >= 1"):
        simulate(8, [2.0], sweeps=0)
    with pytest.raises(ValueError, match="must be even"):
        simulate(7, [2.0])
    assert simulate(7, [2.0], sweeps=5, thermalization=2, chains=1, algorithm="wolff").energy.shape == (1, 1, 5)
