"""Layer specs: output shapes, parameters and windows, 1-D or 2-D by the input's rank."""

import pytest

from cnnlab import spec as S
from cnnlab.shapes import Window


def test_conv_is_1d_or_2d_by_input_rank():
    rows = S.analyze("conv(4,3,p=1)-maxpool(2)-flatten-linear(3)", (2, 10))
    assert rows[0].out_shape == (4, 10) and rows[1].out_shape == (4, 5) and rows[2].out_shape == (20,)
    assert rows[0].params == 4 * (2 * 3 + 1)


def test_windows_are_f_s_p():
    assert S.Conv(16, 5, stride=2, padding=1).window == Window(5, 2, 1)
    assert S.MaxPool(2).window == Window(2, 2, 0)  # stride defaults to the window: non-overlapping
    assert S.AvgPool(3, stride=1, padding=1).window == Window(3, 1, 1)
    assert [layer.window for layer in S.parse("relu-flatten-gap-linear(3)-bn-dropout(0.5)")] == [None] * 6


@pytest.mark.parametrize("text, size", [("conv(8,5,s=1,p=2)", 29), ("maxpool(3,s=2,p=1)", 29), ("avgpool(2)", 28)])
def test_window_gives_the_output_size_and_receptive_field(text, size):
    layer = S.parse_layer(text)
    f, s, p = layer.window
    assert (size - f + 2 * p) % s == 0
    assert layer.out_shape((3, size, size))[1:] == (1 + (size - f + 2 * p) // s,) * 2
    rows = S.analyze(text, (3, size, size))
    assert rows[0].receptive_field.size == (f, f) and rows[0].receptive_field.jump == (s, s)


def test_parameters_of_each_layer():
    assert S.Conv(6, 5).num_params((1, 28, 28)) == 6 * (25 + 1)
    assert S.Conv(6, 5, bias=False).num_params((3, 28, 28)) == 6 * 75
    assert S.Linear(10).num_params((84,)) == 850
    assert S.BatchNorm().num_params((16, 7, 7)) == 32
    assert S.MaxPool(2).num_params((16, 8, 8)) == 0


def test_bad_layer_arguments_raise_spec_errors():
    with pytest.raises(S.SpecError, match="conv: stride must be a positive integer, got 0"):
        S.Conv(4, 3, stride=0)
    with pytest.raises(S.SpecError, match=r"maxpool: padding must be between 0 and kernel_size/2 = 1, got 2"):
        S.MaxPool(2, padding=2)
    with pytest.raises(S.SpecError, match="linear needs a flat input, got shape 8x3x3"):
        S.Linear(10).out_shape((8, 3, 3))
