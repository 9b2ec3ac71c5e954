"""cnnlab.shapes against the lecture's numbers and against PyTorch's own output sizes."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.shapes import ReceptiveField, conv_output_size, conv_param_counts, receptive_field_step


def test_lecture_output_widths():
    assert conv_output_size(5, 3, stride=1, padding=1) == 5  # the 1-D example
    assert conv_output_size(6, 3) == 4  # 6x6x3 with 3x3x3 filters -> 4x4
    assert conv_output_size(28, 2, stride=2) == 14  # 2x2 max pooling halves the width
    assert conv_output_size(32, 5, stride=1, padding=2) == 32  # "same" padding P = (F-1)/2
    assert conv_output_size(10, 3, dilation=2) == 6


def test_lecture_parameter_counts():
    counts = conv_param_counts((3, 6, 6), out_channels=2, kernel_size=3)
    assert (counts.conv, counts.locally_connected, counts.dense) == (56, 896, 3488)
    assert counts.locally_connected - 32 == 864  # weights only: 16 positions x 2 filters x 27
    assert counts.positions == 16
    assert counts.tied_reduction == pytest.approx(896 / 56)


def test_lecture_million_fold_reduction():
    # D = 100 channels in and out, H = W = 100, 3x3 filters with "same" padding: tying alone saves exactly
    # H x W = 10^4; locality and tying together save (DHW)^2 / (D^2 F^2) ~ 1.1 x 10^7 against a dense layer.
    counts = conv_param_counts((100, 100, 100), out_channels=100, kernel_size=3, padding=1)
    assert counts.conv == 100 * (100 * 9 + 1)
    assert counts.locally_connected == 100 * 100 * 100 * (100 * 9 + 1)
    assert counts.locally_connected / counts.conv == pytest.approx(1e4)
    assert counts.dense / counts.conv == pytest.approx(1.11e7, rel=0.01)


def test_not_divisible_message_shows_numbers_and_fix():
    with pytest.raises(
        ValueError,
        match=r"\(28 - 5 \+ 2\*0\)/2 = 11.5 is not an integer; choose kernel_size=4 \(gives 13\) or stride=1",
    ):
        conv_output_size(28, 5, stride=2)
    with pytest.raises(
        ValueError, match=r"\(7 - 3 \+ 2\*0\)/3 = 1.33333 is not an integer; choose padding=1 \(gives 3\)"
    ):
        conv_output_size(7, 3, stride=3)


def test_filter_wider_than_input():
    with pytest.raises(ValueError, match=r"filter wider than the padded input: F = 7 > W \+ 2P = 4 \+ 2\*1 = 6"):
        conv_output_size(4, 7, padding=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(size=0, kernel_size=3), "size must be an integer >= 1, got 0"),
        (dict(size=5, kernel_size=3, stride=0), "stride must be an integer >= 1, got 0"),
        (dict(size=5, kernel_size=3, padding=-1), "padding must be an integer >= 0, got -1"),
        (dict(size=5.0, kernel_size=3), "size must be an integer >= 1, got 5.0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(**kwargs)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
)
def test_agrees_with_torch_whenever_defined(size, kernel, stride, padding, dilation):
    span = dilation * (kernel - 1) + 1
    numerator = size - span + 2 * padding
    conv = torch.nn.Conv1d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    if numerator < 0:
        with pytest.raises(ValueError):
            conv_output_size(size, kernel, stride, padding, dilation)
        return
    torch_width = conv(torch.zeros(1, 1, size)).shape[-1]
    if numerator % stride:
        with pytest.raises(ValueError, match="is not an integer"):
            conv_output_size(size, kernel, stride, padding, dilation)
    else:
        assert conv_output_size(size, kernel, stride, padding, dilation) == torch_width


def test_receptive_field_of_stacked_layers():
    rf = ReceptiveField.input(2)
    rf = receptive_field_step(rf, 5, padding=2)  # conv 5x5
    assert rf.size == (5, 5) and rf.jump == (1, 1)
    rf = receptive_field_step(rf, 2, stride=2)  # pool 2x2
    assert rf.size == (6, 6) and rf.jump == (2, 2)
    rf = receptive_field_step(rf, 5)  # conv 5x5 on the pooled map
    assert rf.size == (14, 14) and rf.jump == (2, 2)
    assert rf.start == (4.5, 4.5)  # centre of the first neuron's field, in input pixels


def test_receptive_field_span_matches_gradient_support():
    # The input pixels that influence one output neuron are exactly the span the formula gives.
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, padding=1), torch.nn.MaxPool2d(2), torch.nn.Conv2d(1, 1, 3))
    x = torch.rand(1, 1, 16, 16, requires_grad=True)
    net(x)[0, 0, 2, 3].backward()
    rows, cols = (x.grad[0, 0].abs() > 0).nonzero(as_tuple=True)
    rf = ReceptiveField.input(2)
    for k, s, p in ((3, 1, 1), (2, 2, 0), (3, 1, 0)):
        rf = receptive_field_step(rf, k, s, p)
    (r0, r1), (c0, c1) = rf.span((2, 3), (16, 16))
    assert (rows.min().item(), rows.max().item() + 1) == (r0, r1)
    assert (cols.min().item(), cols.max().item() + 1) == (c0, c1)
