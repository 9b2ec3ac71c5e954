"""Phase classification: Z2 symmetry, crossing and bootstrap, extrapolation, a tiny end-to-end run."""

import numpy as np
import pytest
import torch

from cnnlab.engine import build
from cnnlab.physics import dataset as D
from cnnlab.physics import phases as P
from cnnlab.physics.exact import TC


@pytest.mark.parametrize("spec", [P.CNN_SPEC, P.DENSE_SPEC])
def test_classifier_is_exactly_spin_flip_symmetric(spec):
    torch.manual_seed(0)
    net = P.Z2Symmetric(build(spec, (1, 16, 16), 2, seed=1))
    x = torch.randint(0, 2, (8, 1, 16, 16)).float() * 2 - 1
    assert torch.equal(net(x), net(-x))
    # ... while the bare network is not symmetric (so the test can fail).
    assert not torch.allclose(net.net(x), net.net(-x))
    p = P.predict_ordered(net, x)
    np.testing.assert_array_equal(p, P.predict_ordered(net, -x))


def test_cnn_uses_circular_padding_so_it_is_translation_equivariant_on_the_torus():
    net = build(P.CNN_SPEC, (1, 16, 16), 2, seed=0)
    x = torch.randint(0, 2, (4, 1, 16, 16)).float() * 2 - 1
    shifted = torch.roll(x, shifts=(2, 6), dims=(2, 3))  # an even shift commutes with maxpool(2)
    torch.testing.assert_close(net(x), net(shifted))


def test_crossing_interpolates_and_handles_no_crossing():
    assert P.crossing([1, 2, 3, 4], [1.0, 0.8, 0.4, 0.0]) == pytest.approx(2.75)
    assert np.isnan(P.crossing([1, 2], [0.9, 0.8]))
    assert np.isnan(P.crossing([1, 2], [0.4, 0.1]))


def test_bootstrap_of_identical_samples_has_no_spread():
    probs = np.repeat(np.array([[1.0], [0.75], [0.25], [0.0]]), 10, axis=1)
    boot = P.bootstrap_crossings([1, 2, 3, 4], probs, 50, np.random.default_rng(0))
    np.testing.assert_allclose(boot, 2.5)


def test_bootstrap_spread_matches_the_sampling_error():
    # P = Bernoulli around the crossing: the spread shrinks like 1/sqrt(samples).
    rng = np.random.default_rng(0)
    T = np.array([1.0, 2.0, 3.0])
    spreads = []
    for m in (100, 1600):
        probs = (rng.random((3, m)) < np.array([[0.9], [0.5], [0.1]])).astype(float)
        spreads.append(np.std(P.bootstrap_crossings(T, probs, 300, rng)))
    assert spreads[0] / spreads[1] == pytest.approx(4.0, rel=0.3)


def test_extrapolate_recovers_a_line_in_one_over_l():
    sizes = [8, 16, 32, 64]
    tc, a, err = P.extrapolate(sizes, [2.27 + 0.5 / L for L in sizes], [0.01] * 4)
    assert tc == pytest.approx(2.27) and a == pytest.approx(0.5)
    # Error propagation checked against a Monte Carlo of noisy points.
    rng = np.random.default_rng(0)
    fits = [P.extrapolate(sizes, [2.27 + 0.5 / L + 0.01 * rng.normal() for L in sizes])[0] for _ in range(4000)]
    assert np.std(fits) == pytest.approx(err, rel=0.05)


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: threads only add overhead on a busy machine
    yield
    torch.set_num_threads(before)


def test_train_classifier_loss_decreases(one_thread):
    torch.manual_seed(0)
    x = torch.cat([torch.ones(32, 1, 8, 8), torch.randint(0, 2, (32, 1, 8, 8)).float() * 2 - 1])
    x[:16] *= -1  # both ordered states
    y = torch.cat([torch.ones(32), torch.zeros(32)]).long()
    net = P.Z2Symmetric(build(P.CNN_SPEC, (1, 8, 8), 2, seed=0))
    losses = P.train_classifier(net, x, y, epochs=15, batch_size=16, lr=5e-3, seed=0)
    assert losses[-1] < 0.3 * losses[0]


def test_run_tc_end_to_end_on_tiny_lattices():
    temps = np.round(np.arange(1.0, 3.51, 0.25), 4).tolist()
    config = P.TcConfig(sizes=[8, 12], temperatures=temps, samples=64, epochs=20, bootstrap=30, ensemble=2)
    data = D.generate(config.sizes, temps, config.samples, seed=0, thermalization=200, autocorr_sweeps=10)
    result = P.run_tc(config, data=data).to_dict()
    assert set(result["tc_by_size"]) == {"8", "12"}
    assert abs(result["tc_estimate"] - TC) < 0.35  # tiny lattices and data: only a sanity bound
    for L in ("8", "12"):
        r = result["per_size"][L]
        assert len(r["cnn"]["curve"]) == len(temps)
        assert r["cnn"]["curve"][0] > 0.9 and r["cnn"]["curve"][-1] < 0.1
        assert 1.8 < r["cnn"]["tc"] < 2.8 and r["cnn"]["tc_error"] > 0
        assert 0.5 <= r["dense"]["accuracy_critical"] <= 1.0
        assert (
            len(r["cnn"]["tc_members"]) == P.ensemble_size(config, int(L))
            and r["cnn"]["tc_error"] >= r["cnn"]["tc_bootstrap_error"]
        )
    assert np.isfinite(result["tc_error"])
