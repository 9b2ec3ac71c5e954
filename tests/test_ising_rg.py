"""Coarse-graining maps on hand examples, and the qualitative RG flows."""

import numpy as np
import pytest

from cnnlab.physics import rg

PATTERN = np.array([[1, 1, -1, 1], [1, -1, -1, -1], [-1, -1, 1, 1], [-1, 1, 1, -1]])  # block sums: 2, -2 / -2, 2


def test_majority_rule_of_a_4x4_pattern():
    out = rg.majority_rule(PATTERN, np.random.default_rng(0))
    np.testing.assert_array_equal(out, [[1, -1], [-1, 1]])
    assert out.dtype == np.int8


def test_majority_rule_breaks_ties_with_a_fair_coin():
    tie = np.tile(np.array([[1, -1], [-1, 1]]), (1, 50, 50))  # every 2x2 block sums to 0
    out = rg.majority_rule(tie, np.random.default_rng(1))
    assert set(np.unique(out)) == {-1, 1}
    assert abs(out.mean()) < 0.05  # 2500 coins


def test_max_and_avg_pool_by_hand():
    np.testing.assert_array_equal(rg.max_pool(PATTERN), [[1, 1], [1, 1]])
    np.testing.assert_array_equal(rg.avg_pool(PATTERN), [[0.5, -0.5], [-0.5, 0.5]])
    np.testing.assert_array_equal(rg.max_pool(-np.ones((4, 4))), -np.ones((2, 2)))


def test_pooling_matches_torch():
    import torch

    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(3, 8, 8))
    t = torch.as_tensor(x).unsqueeze(1)
    np.testing.assert_allclose(rg.max_pool(x), torch.nn.functional.max_pool2d(t, 2)[:, 0].numpy())
    np.testing.assert_allclose(rg.avg_pool(x), torch.nn.functional.avg_pool2d(t, 2)[:, 0].numpy())


def test_avg_pool_conserves_the_magnetization():
    x = np.random.default_rng(2).choice([-1, 1], size=(5, 16, 16))
    lattices = rg.flow(x, "avg", 3, np.random.default_rng(0))
    for y in lattices:
        np.testing.assert_allclose(y.mean(axis=(-2, -1)), x.mean(axis=(-2, -1)))
    assert [y.shape[-1] for y in lattices] == [16, 8, 4, 2]


def test_observables_by_hand():
    assert rg.magnetization(np.array([np.ones((2, 2)), -np.ones((2, 2))])) == 1.0
    assert rg.nn_correlation(np.ones((1, 4, 4))) == 1.0
    stripes = np.tile(np.array([[1], [-1]]), (1, 2, 4))  # rows alternate: vertical pairs -1, horizontal +1
    assert rg.nn_correlation(stripes) == 0.0
    assert rg.nn_correlation(np.zeros((1, 2, 2))) == 0.0


def test_errors():
    with pytest.raises(ValueError, match="divisible by the block size b=2"):
        rg.max_pool(np.ones((3, 3)))
    with pytest.raises(ValueError, match="method must be one of majority, max, avg"):
        rg.flow(np.ones((4, 4)), "median", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="steps must be >= 1 with L divisible by 2"):
        rg.run_rg(L=12, steps=3)


def test_flows_have_the_expected_fixed_points():
    r = rg.run_rg(L=32, temperatures=[1.8, 2.269185, 3.5], samples=64, steps=3, seed=0)
    maj = r.observables["majority"]
    # Ordered: |m| and correlation flow up towards 1; disordered: correlation flows to 0.
    assert maj["1.8"]["nn_correlation"][-1] > maj["1.8"]["nn_correlation"][0] > 0.85
    assert maj["3.5"]["nn_correlation"][-1] < 0.5 * maj["3.5"]["nn_correlation"][0]
    # Critical: the correlation stays near its value (the fixed point), within 0.1 over 3 steps.
    crit = maj[list(maj)[1]]["nn_correlation"]
    assert max(crit) - min(crit) < 0.1
    # Max pooling breaks the Z2 symmetry: even the hot lattice flows to "all up".
    assert r.observables["max"]["3.5"]["abs_magnetization"][-1] > 0.9
    assert r.examples["majority"]["1.8"][-1].shape == (4, 4)
