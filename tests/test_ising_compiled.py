"""The compiled (numba) and PyTorch multi-spin kernels against the NumPy reference and exact results."""

import math

import numpy as np
import pytest
import torch

from cnnlab.physics import msc
from cnnlab.physics.compiled import (
    CompiledLattice,
    acceptance_thresholds,
    half_sweep_from_digits,
    threshold_masks,
)
from cnnlab.physics.exact import TC_TRIANGULAR, enumerate_exact, onsager_energy, triangular_energy, yang_magnetization
from cnnlab.physics.ising import simulate
from cnnlab.physics.torch_msc import TorchLattice
from cnnlab.physics.wolff import energy_magnetization

ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def _z(value, reference, error):
    return abs(value - reference) / error


def _random_words(rng, shape):
    return rng.integers(0, ALL, size=shape, dtype=np.uint64, endpoint=True)


# --- bookkeeping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lattice, L", [("square", 2), ("square", 6), ("square", 10), ("triangular", 3), ("triangular", 9)]
)
def test_measure_matches_direct_computation_on_unpacked_spins(lattice, L):
    lat = CompiledLattice.create(L, [2.0, 3.7], chains=128, start="hot", seed=L, lattice=lattice)
    lat.sweep(3)
    e, m = lat.measure()
    s = lat.spins().astype(np.int64)
    bonds = s * np.roll(s, -1, axis=2) + s * np.roll(s, -1, axis=1)
    if lattice == "triangular":
        bonds = bonds + s * np.roll(s, (-1, -1), axis=(1, 2))
    np.testing.assert_allclose(e, -bonds.sum(axis=(1, 2)) / (L * L))
    np.testing.assert_allclose(m, s.mean(axis=(1, 2)))


def test_spins_round_trip_and_the_layout_of_chains_in_words():
    lat = CompiledLattice.create(6, [2.0], chains=128, start="up", seed=0)
    spins = np.random.default_rng(1).choice(np.array([-1, 1], dtype=np.int8), size=(128, 6, 6))
    lat.set_spins(spins)
    np.testing.assert_array_equal(lat.spins(), spins)
    # Chain 64 b + r is bit r of word b, at its site in row-major order; bit 1 = spin down.
    assert int(lat.words[1, 2, 3] >> np.uint64(5) & np.uint64(1)) == int(spins[69, 2, 3] < 0)


def test_same_seed_same_chains_whatever_the_thread_count():
    runs = []
    for threads in (1, 2, 1):
        lat = CompiledLattice.create(8, [1.5, 2.3, 3.0], chains=128, seed=7, threads=threads)
        lat.sweep(25)
        runs.append(lat.words.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])
    other = CompiledLattice.create(8, [1.5, 2.3, 3.0], chains=128, seed=8)
    other.sweep(25)
    assert not np.array_equal(runs[0], other.words)


def test_selected_words_sweep_alone_and_the_rest_stay_put():
    a = CompiledLattice.create(8, [2.0, 2.5, 3.0], chains=64, seed=3, start="hot")
    b = CompiledLattice.create(8, [2.5], chains=64, seed=3, start="hot")
    b.words[:], b.state[:] = a.words[1:2], a.state[1:2]
    before = a.words.copy()
    a.sweep(5, select=[1])
    b.sweep(5)
    np.testing.assert_array_equal(a.words[1], b.words[0])
    np.testing.assert_array_equal(a.words[[0, 2]], before[[0, 2]])


def test_argument_errors():
    with pytest.raises(ValueError, match="must be even for the checkerboard"):
        CompiledLattice.create(5, [2.0])
    with pytest.raises(ValueError, match="multiple of 3 for the triangular"):
        CompiledLattice.create(8, [2.0], lattice="triangular")
    with pytest.raises(ValueError, match="temperatures must be finite and > 0"):
        CompiledLattice.create(4, [2.0, float("nan")])
    with pytest.raises(ValueError, match="lattice must be one of square, triangular"):
        CompiledLattice.create(4, [2.0], lattice="honeycomb")


# --- one update rule, three implementations ---------------------------------------------------------


def _reference_half_sweep(full, colour, masks, digits):
    """The NumPy reference's rule (msc's neighbour classes), every digit of U given, on a full lattice."""
    B, L, _ = full.shape
    black = np.empty((B, L, L // 2), dtype=np.uint64)
    white = np.empty_like(black)
    black[:, 0::2], black[:, 1::2] = full[:, 0::2, 0::2], full[:, 1::2, 1::2]
    white[:, 0::2], white[:, 1::2] = full[:, 0::2, 1::2], full[:, 1::2, 0::2]
    own, other = (black, white) if colour == 0 else (white, black)
    two, one, zero = msc._neighbour_classes(*msc._unsatisfied(own, other, colour == 0))
    sub = np.empty_like(own)
    pick = ((0, 0), (1, 1)) if colour == 0 else ((0, 1), (1, 0))
    below, tied = np.zeros_like(own), one | zero
    for i in range(msc.TOTAL_BITS):
        for row, col in pick:
            sub[:, row::2] = digits[i][:, row::2, col::2]
        t = (one & masks[:, 1, i][:, None, None]) | (zero & masks[:, 2, i][:, None, None])
        below |= tied & ~sub & t
        tied &= ~(sub ^ t)
    own ^= two | below
    out = full.copy()
    out[:, 0::2, 0::2], out[:, 1::2, 1::2] = black[:, 0::2], black[:, 1::2]
    out[:, 0::2, 1::2], out[:, 1::2, 0::2] = white[:, 0::2], white[:, 1::2]
    return out


def _sublattice(d, black):
    out = np.empty(d.shape[:-1] + (d.shape[-1] // 2,), dtype=d.dtype)
    out[..., 0::2, :] = d[..., 0::2, 0::2] if black else d[..., 0::2, 1::2]
    out[..., 1::2, :] = d[..., 1::2, 1::2] if black else d[..., 1::2, 0::2]
    return out


@pytest.mark.parametrize("ties", [0, 24])
def test_numba_torch_and_numpy_apply_the_same_rule_bit_for_bit(ties):
    # ties = 24: U's first 24 digits equal p's, so every decision falls in the deepest digits.
    rng = np.random.default_rng(ties)
    L, temps = 6, np.array([0.8, 1.7, 2.269, 3.5])
    masks = threshold_masks(acceptance_thresholds(temps))
    full = _random_words(rng, (len(temps), L, L))
    torch_lattice = TorchLattice.create(L, temps, chains=64)
    torch_lattice.set_full_words(torch.as_tensor(full.view(np.int64)))
    numba_full = full.copy()
    for colour in (0, 1):
        digits = _random_words(rng, (msc.TOTAL_BITS, len(temps), L, L))
        if ties:
            p1, p0 = masks[:, 1, :ties].T[:, :, None, None], masks[:, 2, :ties].T[:, :, None, None]
            # Digit = p_1's where a chain has one anti-aligned neighbour, p_0's elsewhere (k = 0 or 2).
            one = np.stack([_one_mask(full, colour)] * ties)
            digits[:ties] = (one & p1) | (~one & p0)
        expected = _reference_half_sweep(full, colour, masks, digits)
        half_sweep_from_digits(numba_full, colour, masks, digits)
        torch_lattice.half_sweep(colour == 0, digits=torch.as_tensor(_sublattice(digits, colour == 0).view(np.int64)))
        np.testing.assert_array_equal(numba_full, expected)
        np.testing.assert_array_equal(torch_lattice.full_words().numpy().view(np.uint64), expected)
        assert (expected != full).any()  # something flipped
        full = expected


def _one_mask(full, colour):
    """Chains with exactly one anti-aligned neighbour at every site (full layout)."""
    n = [np.roll(full, s, axis=a) for a, s in ((1, 1), (1, -1), (2, 1), (2, -1))]
    a = [full ^ x for x in n]
    s1, c1, s2, c2 = a[0] ^ a[1], a[0] & a[1], a[2] ^ a[3], a[2] & a[3]
    return (s1 ^ s2) & ~(c1 | c2)


# --- the samplers sample the Boltzmann distribution ----------------------------------------------

KEYS = ["energy_per_spin", "abs_magnetization", "specific_heat", "susceptibility", "binder"]


@pytest.mark.parametrize("backend", ["compiled", "torch"])
@pytest.mark.parametrize("T", [1.8, 2.5])
def test_metropolis_backends_match_exact_enumeration_4x4(backend, T):
    obs = simulate(4, [T], sweeps=1200, chains=256, seed=3, backend=backend).observables()[0]
    exact = enumerate_exact(4, T)
    for key in KEYS:
        assert _z(obs[key], exact[key], obs[key + "_error"]) < 4.5, (key, obs[key], exact[key])


def test_compiled_wolff_matches_exact_enumeration_4x4():
    obs = simulate(4, [2.3], sweeps=1500, chains=16, algorithm="wolff", seed=5).observables()[0]
    exact = enumerate_exact(4, 2.3)
    for key in KEYS:
        assert _z(obs[key], exact[key], obs[key + "_error"]) < 4.5, (key, obs[key], exact[key])


def test_triangular_matches_exact_enumeration_3x3():
    T = 3.0
    obs = simulate(3, [T], sweeps=1500, chains=256, seed=2, lattice="triangular").observables()[0]
    exact = enumerate_exact(3, T, lattice="triangular")
    for key in KEYS:
        assert _z(obs[key], exact[key], obs[key + "_error"]) < 4.5, (key, obs[key], exact[key])


def test_triangular_energy_matches_houtappel_at_one_temperature():
    # T = 3.0 < Tc = 3.641: xi is a few sites, so L = 24 is the infinite lattice within the errors.
    obs = simulate(24, [3.0], sweeps=1500, chains=64, seed=4, lattice="triangular").observables()[0]
    assert _z(obs["energy_per_spin"], float(triangular_energy(3.0)), obs["energy_per_spin_error"]) < 4.5
    assert obs["abs_magnetization"] > 0.9 and TC_TRIANGULAR > 3.0


def test_compiled_and_numpy_reference_agree_statistically_at_l32():
    kw = dict(sweeps=1500, chains=128, thermalization=500)
    compiled = simulate(32, [2.0, 2.6], seed=1, **kw).observables()
    numpy = simulate(32, [2.0, 2.6], seed=2, backend="numpy", **kw).observables()
    for a, b in zip(compiled, numpy):
        for key in ("energy_per_spin", "abs_magnetization", "specific_heat"):
            assert _z(a[key], b[key], math.hypot(a[key + "_error"], b[key + "_error"])) < 4.5, (a["T"], key)
        assert _z(a["energy_per_spin"], float(onsager_energy(a["T"])), a["energy_per_spin_error"]) < 4.5
    assert (
        _z(compiled[0]["abs_magnetization"], float(yang_magnetization(2.0)), compiled[0]["abs_magnetization_error"])
        < 4.5
    )


def test_error_bars_cover_the_exact_value_as_often_as_they_should():
    # 40 independent runs at L = 4 against exact enumeration: |z| < 2 in about 95 % of them.
    exact = enumerate_exact(4, 2.4)["energy_per_spin"]
    z = []
    for seed in range(40):
        obs = simulate(4, [2.4], sweeps=200, chains=64, thermalization=100, seed=100 + seed).observables()[0]
        z.append((obs["energy_per_spin"] - exact) / obs["energy_per_spin_error"])
    z = np.abs(z)
    assert np.mean(z < 2) >= 0.85 and np.mean(z < 1) >= 0.5, np.round(z, 2)


def test_unpacked_energy_agrees_with_the_wolff_helper():
    lat = CompiledLattice.create(8, [2.2], chains=64, seed=0, start="hot")
    lat.sweep(5)
    np.testing.assert_allclose(lat.measure()[0], energy_magnetization(lat.spins())[0])
