"""Exact translation invariance by design, how max pooling breaks it, and shifted test sets."""

import itertools

import pytest
import torch

from cnnlab import engine
from cnnlab.data import load_dataset, shift
from cnnlab.experiments.invariance import (
    POOLED_TWIN,
    TWIN_STRIDE,
    equivariance,
    logit_change,
    shift_each,
    translation_robustness,
)
from cnnlab.experiments.runner import accuracy, recipe


@pytest.mark.parametrize("shape", [(1, 12, 12), (2, 8, 12), (1, 40)])
def test_equivariant_cnn_is_invariant_under_every_circular_shift(shape):
    torch.manual_seed(0)
    net = engine.build("equivariant", shape, num_classes=5, seed=1).double()
    x = torch.randn(3, *shape, dtype=torch.float64)
    shifts = list(itertools.product(range(shape[-1]), range(shape[-2]) if len(shape) == 3 else [0]))
    changes = logit_change(net, x, shifts)
    assert len(changes) == shape[-1] * (shape[-2] if len(shape) == 3 else 1)
    assert max(changes) < 1e-12
    # float32 as well, with float32 rounding
    assert max(logit_change(net.float(), x.float(), shifts[:20])) < 1e-5


def test_max_pooling_with_stride_breaks_invariance_except_on_its_grid():
    net = engine.build(POOLED_TWIN, (1, 16, 16), num_classes=5, seed=0).double()
    x = torch.randn(4, 1, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    on_grid = [(dx, dy) for dx in range(0, 16, TWIN_STRIDE) for dy in range(0, 16, TWIN_STRIDE)]
    off_grid = [(1, 0), (0, 1), (2, 0), (3, 3), (5, 4)]
    assert max(logit_change(net, x, on_grid)) < 1e-12
    assert min(logit_change(net, x, off_grid)) > 1e-3


def test_shift_each_moves_every_example_by_k_in_one_direction():
    x = torch.rand(20, 1, 6, 6)
    moved = shift_each(x, 2, "zeros", seed=1)
    for i in range(len(x)):
        candidates = [shift(x[i : i + 1], dx, dy) for dx, dy in ((2, 0), (-2, 0), (0, 2), (0, -2))]
        assert any(torch.equal(moved[i : i + 1], c) for c in candidates)
    assert torch.equal(shift_each(x, 0, "circular"), x)
    signals = torch.rand(10, 1, 9)
    assert all(
        torch.equal(row, shift(signals[i : i + 1], 3, mode="circular")[0])
        or torch.equal(row, shift(signals[i : i + 1], -3, mode="circular")[0])
        for i, row in enumerate(shift_each(signals, 3, "circular"))
    )


def test_translation_robustness_on_digits(tmp_path):
    data = load_dataset("digits")
    base = recipe(data, epochs=2)
    result = translation_robustness(
        data, {"logreg": "logreg"}, base, seeds=1, max_shift=3, augment_shift=1, eval_examples=200, out=tmp_path
    )
    assert (tmp_path / "translation.png").stat().st_size > 1000
    assert result.shifts == [0, 1, 2, 3]
    assert {(c["augmented"], c["mode"]) for c in result.curves} == {
        (a, m) for a in (False, True) for m in ("zeros", "circular")
    }
    plain = result.curve("logreg", False, "zeros")
    assert plain["mean"][0] == result.curve("logreg", False, "circular")["mean"][0]
    assert (
        plain["mean"][0] > 0.7 and plain["mean"][3] < plain["mean"][0] - 0.3
    )  # a dense net does not generalise over shifts
    assert "## Translation robustness" in result.markdown()


def test_equivariance_random_weights_report():
    data = load_dataset("digits")
    result = equivariance(data, base=None, max_shift=4, eval_examples=50)
    assert max(result.random_logit_change["equivariant"]) < 1e-12
    twin = result.random_logit_change["maxpool twin"]
    assert twin[0] == 0 and twin[4] < 1e-12 and min(twin[1:4]) > 1e-3
    assert result.trained == {}


def test_accuracy_helper_matches_the_trainer():
    from cnnlab.experiments.runner import train

    data = load_dataset("digits")
    run = train(recipe(data, epochs=1).replace(model="logreg"), data)
    assert accuracy(run.model, data.x_test, data.y_test) == pytest.approx(run.final["test_accuracy"])
