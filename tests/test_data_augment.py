"""shift and random_translate against hand-shifted images."""

import pytest
import torch

from cnnlab.data import random_translate, shift


def test_shift_zeros_by_hand():
    x = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]
    right_down = torch.tensor([[0.0, 0, 0], [0, 1, 2], [0, 4, 5]])
    assert torch.equal(shift(x, 1, 1)[0, 0], right_down)
    left_up = torch.tensor([[5.0, 6, 0], [8, 9, 0], [0, 0, 0]])
    assert torch.equal(shift(x, -1, -1)[0, 0], left_up)
    assert torch.equal(shift(x, 0, 0), x)
    assert torch.equal(shift(x, 3, 0), torch.zeros_like(x))  # shifted out entirely


def test_shift_circular_by_hand():
    x = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    expected = torch.tensor([[9.0, 7, 8], [3, 1, 2], [6, 4, 5]])
    assert torch.equal(shift(x, 1, 1, mode="circular")[0, 0], expected)
    assert torch.equal(shift(x, 3, -3, mode="circular"), x)  # a full turn of the torus


def test_shift_signals():
    x = torch.tensor([[[1.0, 2.0, 3.0]], [[4.0, 5.0, 6.0]]])  # (N, C, W) = (2, 1, 3)
    assert shift(x, -1).tolist() == [[[2.0, 3.0, 0.0]], [[5.0, 6.0, 0.0]]]
    with pytest.raises(ValueError, match="dy must be 0, got 1"):
        shift(x, 0, 1)


def test_shift_bad_mode():
    with pytest.raises(ValueError, match="mode must be 'zeros' or 'circular', got 'reflect'"):
        shift(torch.zeros(1, 1, 2, 2), 1, mode="reflect")


def find_offset(original, moved, max_shift):
    """The (dx, dy) that turns ``original`` into ``moved``, or None."""
    dys = [0] if original.dim() == 3 else range(-max_shift, max_shift + 1)
    for dy in dys:
        for dx in range(-max_shift, max_shift + 1):
            if torch.equal(shift(original, dx, dy), moved):
                return dx, dy
    return None


def test_random_translate_equals_per_example_shifts():
    torch.manual_seed(0)
    x = torch.rand(64, 2, 7, 9) + 0.1  # positive everywhere, so every shift is identifiable
    out = random_translate(x, 2, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    offsets = [find_offset(x[i : i + 1], out[i : i + 1], 2) for i in range(len(x))]
    assert None not in offsets
    assert len(set(offsets)) > 10  # independent offsets per example, not one for the batch
    assert {dx for dx, _ in offsets} == {-2, -1, 0, 1, 2}
    again = random_translate(x, 2, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)  # the generator makes it reproducible


def test_random_translate_signals():
    x = torch.rand(32, 1, 40) + 0.1
    out = random_translate(x, 3, torch.Generator().manual_seed(2))
    offsets = [find_offset(x[i : i + 1], out[i : i + 1], 3) for i in range(len(x))]
    assert None not in offsets and all(dy == 0 for _, dy in offsets)
    assert len({dx for dx, _ in offsets}) > 3


def test_random_translate_zero_and_errors():
    x = torch.rand(2, 1, 4, 4)
    out = random_translate(x, 0)
    assert torch.equal(out, x) and out is not x
    with pytest.raises(ValueError, match="max_shift must be an integer >= 0, got -1"):
        random_translate(x, -1)
    with pytest.raises(ValueError, match=r"must be \(N, C, H, W\) or \(N, C, W\), got shape \(4, 4\)"):
        random_translate(x[0, 0], 1)
