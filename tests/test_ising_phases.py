"""Phase classification: Z2 symmetry, crossing and bootstrap, training through fit, a tiny end-to-end run."""

import numpy as np
import pytest
import torch

from cnnlab.engine import build
from cnnlab.physics import dataset as D
from cnnlab.physics import phases as P
from cnnlab.physics import tc as TCM
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
    probs = [np.full(n, v) for n, v in zip((10, 20, 5, 10), (1.0, 0.75, 0.25, 0.0))]  # counts may differ
    boot = P.bootstrap_crossings([1, 2, 3, 4], probs, 50, np.random.default_rng(0))
    np.testing.assert_allclose(boot, 2.5)


def test_bootstrap_spread_matches_the_sampling_error():
    # P = Bernoulli around the crossing: the spread shrinks like 1/sqrt(samples).
    rng = np.random.default_rng(0)
    T = np.array([1.0, 2.0, 3.0])
    spreads = []
    for m in (100, 1600):
        probs = (rng.random((3, m)) < np.array([[0.9], [0.5], [0.1]])).astype(float)
        spreads.append(np.std(P.bootstrap_crossings(T, list(probs), 300, rng)))
    assert spreads[0] / spreads[1] == pytest.approx(4.0, rel=0.3)


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: threads only add overhead on a busy machine
    yield
    torch.set_num_threads(before)


def test_train_classifier_through_fit_loss_decreases_and_is_reproducible(one_thread):
    torch.manual_seed(0)
    x = torch.cat([torch.ones(32, 1, 8, 8), torch.randint(0, 2, (32, 1, 8, 8)).float() * 2 - 1])
    x[:16] *= -1  # both ordered states
    y = torch.cat([torch.ones(32), torch.zeros(32)]).long()
    runs = []
    for _ in range(2):
        net = P.classifier(P.CNN_SPEC, 8, seed=0)
        losses = P.train_classifier(net, x, y, epochs=15, batch_size=16, lr=5e-3, seed=0)
        runs.append((losses, [p.detach().clone() for p in net.parameters()]))
    assert runs[0][0][-1] < 0.3 * runs[0][0][0]
    assert runs[0][0] == runs[1][0]  # same seed: the same training, bit for bit
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    # The symmetry survives training (the loop's normalisation is the identity for spins).
    assert torch.equal(net(x), net(-x))


def test_run_tc_end_to_end_on_tiny_lattices():
    config = TCM.TcConfig(
        sizes=[8, 12],
        coarse=[1.0, 1.25, 1.5, 1.75, 2.75, 3.0, 3.25, 3.5],
        fine=np.round(np.arange(2.1, 2.45, 0.05), 4).tolist(),
        samples=64,
        critical_samples=64,
        epochs=20,
        bootstrap=30,
        ensemble=2,
    )
    data = D.generate(config.sizes, config.temperatures(), config.samples_per_temperature(), seed=0, autocorr_sweeps=10)
    result = TCM.run_tc(config, data=data)
    d = result.to_dict()
    temps = config.temperatures()
    assert set(d["tc_by_size"]) == {"8", "12"}
    assert abs(d["tc_estimate"] - TC) < 0.35  # tiny lattices and data: only a sanity bound
    assert d["fit"]["form"].startswith("Tc(L) = Tc") and d["fit"]["line"]["form"] == "Tc(L) = Tc + a L^(-1/1)"
    for L in ("8", "12"):
        r = d["per_size"][L]
        assert len(r["cnn"]["curve"]) == len(temps) and r["temperatures"] == temps
        assert r["cnn"]["curve"][0] > 0.9 and r["cnn"]["curve"][-1] < 0.1
        assert 1.8 < r["cnn"]["tc"] < 2.8 and r["cnn"]["tc_error"] > 0
        assert 0.5 <= r["dense"]["accuracy_critical"] <= 1.0
        assert r["cnn"]["members"] == TCM.ensemble_size(config, int(L)) == len(r["cnn"]["tc_members"])
        assert r["cnn"]["tc_error"] >= r["cnn"]["tc_bootstrap_error"]
    assert np.isfinite(d["tc_error"])
    assert set(result.models) == {8, 12} and isinstance(result.models[8], P.Z2Symmetric)


def test_saved_model_is_a_run_folder_that_cnnlab_load_reads(tmp_path):
    import cnnlab

    net = P.classifier(P.CNN_SPEC, 16, seed=3)
    TCM.save_model(net, 16, tmp_path / "m", TCM.TcConfig(), 2.27)
    model = cnnlab.load(tmp_path / "m")
    x = torch.randint(0, 2, (5, 1, 16, 16)).float() * 2 - 1
    # cnnlab.load gives the wrapped network f; the classifier is softmax((f(x) + f(-x)) / 2).
    symmetric = (model.net(x) + model.net(-x)) / 2
    torch.testing.assert_close(symmetric.softmax(-1), torch.softmax(net(x), -1))
    assert model.classes == ["disordered", "ordered"] and model.config["symmetrize"] == "z2"
