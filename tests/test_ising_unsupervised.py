"""Learning by confusion and PCA on synthetic data with a known answer; the size bounds."""

import numpy as np
import pytest

from cnnlab.physics import limits
from cnnlab.physics.unsupervised import binder, confusion, confusion_peak, principal_components


def _synthetic(tc: float, temps, per_t: int, L: int, seed: int = 0):
    """Below ``tc``: ordered lattices (all +1 or all -1) with 5 % flipped spins; above: random spins."""
    rng = np.random.default_rng(seed)
    spins, T = [], []
    for t in temps:
        if t < tc:
            base = rng.choice([-1, 1], size=(per_t, 1, 1)) * np.ones((per_t, L, L), dtype=np.int8)
            flips = np.where(rng.random((per_t, L, L)) < 0.05, -1, 1)
            spins.append((base * flips).astype(np.int8))
        else:
            spins.append(rng.choice(np.array([-1, 1], dtype=np.int8), size=(per_t, L, L)))
        T += [t] * per_t
    return np.concatenate(spins), np.array(T)


def test_confusion_is_w_shaped_with_the_middle_peak_at_the_known_transition():
    temps = np.round(np.arange(1.0, 3.51, 0.25), 4)
    spins, T = _synthetic(2.3, temps, 40, 8)
    proposals = (temps[:-1] + temps[1:]) / 2
    accuracy = confusion(spins, T, proposals, epochs=8, seed=0, threads=1)
    peak = confusion_peak(proposals, accuracy)
    assert peak == pytest.approx(2.375, abs=0.13)  # the split between T = 2.25 and 2.5
    middle = np.argmin(np.abs(proposals - 2.375))
    assert accuracy[middle] > 0.97  # the true split is learnable...
    assert min(accuracy[:middle]) < accuracy[middle] - 0.05  # ...a wrong one confuses the network
    assert min(accuracy[middle + 1 :]) < accuracy[middle] - 0.05


def test_confusion_peak_by_hand():
    assert confusion_peak([1, 2, 3], [1.0, 0.5, 1.0]) != confusion_peak(
        [1, 2, 3], [1.0, 0.5, 1.0]
    )  # NaN: no interior max
    assert confusion_peak([1, 2, 3, 4, 5], [1.0, 0.7, 0.9, 0.7, 1.0]) == pytest.approx(3.0)
    # Parabola through (2, 0.8), (3, 0.9), (4, 0.85): vertex at 3.1667.
    assert confusion_peak([1, 2, 3, 4, 5], [1.0, 0.8, 0.9, 0.85, 1.0]) == pytest.approx(3 + 1 / 6)


def test_pca_first_component_is_the_magnetization():
    spins, T = _synthetic(2.3, np.round(np.arange(1.0, 3.51, 0.25), 4), 100, 10)
    pca = principal_components(spins)
    w = pca.components[0]
    np.testing.assert_allclose(np.abs(w), 1 / 10, atol=0.02)  # uniform: |w_i| = 1 / L
    p1 = pca.project(spins, centred=False)[:, 0]
    m = spins.mean(axis=(1, 2))
    assert abs(np.corrcoef(np.abs(p1), np.abs(m))[0, 1]) > 0.99
    assert pca.explained[0] > 0.4 and pca.explained[0] > 10 * pca.explained[1]
    # Its Binder cumulant: 2/3 for the ordered phase, ~0 for the disordered one (500 samples:
    # the estimate of <p^4>/<p^2>^2 scatters by ~0.2, so U by ~0.07).
    assert binder(p1[T < 2.3]) > 0.6 and abs(binder(p1[T > 2.3])) < 0.2


def test_limits_name_the_rule_and_the_value():
    assert limits.check_count("sweeps", 10, 100) == 10
    with pytest.raises(ValueError, match="sweeps must be an integer between 1 and 100, got 0"):
        limits.check_count("sweeps", 0, 100)
    with pytest.raises(ValueError, match="between 1 and 100, got True"):
        limits.check_count("sweeps", True, 100)
    assert limits.temperature_count(1.0, 3.5, 0.05) == 51
    with pytest.raises(ValueError, match="gives 99999990001 temperatures; at most 2000"):
        limits.temperature_count(0.1, 1_000_000, 0.00001)
    limits.check_work(64, 1024, 1000)
    with pytest.raises(ValueError, match="would need about .* of memory"):
        limits.check_work(4096, 2**20, 1)
    with pytest.raises(ValueError, match="spin updates"):
        limits.check_work(1024, 2**16, 10**6)
