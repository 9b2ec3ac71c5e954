"""The lecture's hand-computed examples through the public reference API, and error messages."""

import numpy as np
import pytest

from cnnlab import reference as R
from cnnlab.spec import SpecError


def lecture_conv1d() -> R.Conv1d:
    conv = R.Conv1d(1, 1, kernel_size=3, stride=1, padding=1)
    conv.params["weight"][:] = [[[1, -1, 1]]]
    conv.params["bias"][:] = -2
    return conv


def test_lecture_1d_example_forward_exact():
    conv, relu = lecture_conv1d(), R.ReLU()
    z = conv.forward(np.array([[[1.0, 2, 2, -1, 3]]]))
    np.testing.assert_array_equal(z, [[[-1, -1, -3, 4, -6]]])
    np.testing.assert_array_equal(relu.forward(z), [[[0, 0, 0, 4, 0]]])


def test_lecture_1d_example_backward_by_hand():
    # Loss = the ReLU output at position 3 (the only active neuron, value 4).
    conv, relu = lecture_conv1d(), R.ReLU()
    x = np.array([[[1.0, 2, 2, -1, 3]]])
    relu.forward(conv.forward(x))
    grad_out = np.array([[[0.0, 0, 0, 1, 0]]])
    grad_x = conv.backward(relu.backward(grad_out))
    # Position 3 saw padded inputs [2, -1, 3] = x[2:5] through w = [1, -1, 1].
    np.testing.assert_array_equal(conv.grads["weight"], [[[2, -1, 3]]])
    np.testing.assert_array_equal(conv.grads["bias"], [1])
    np.testing.assert_array_equal(grad_x, [[[0, 0, 1, -1, 1]]])


def test_lecture_1d_example_tied_gradient_sums_positions():
    conv = lecture_conv1d()
    conv.forward(np.array([[[1.0, 2, 2, -1, 3]]]))
    conv.backward(np.ones((1, 1, 5)))
    # Each weight's gradient is the sum over all 5 positions of the (padded) input it met.
    np.testing.assert_array_equal(conv.grads["weight"], [[[0 + 1 + 2 + 2 - 1, 1 + 2 + 2 - 1 + 3, 2 + 2 - 1 + 3 + 0]]])
    np.testing.assert_array_equal(conv.grads["bias"], [5])


def test_lecture_channels_example_shape_and_parameters():
    conv = R.Conv2d(3, 2, kernel_size=3, rng=np.random.default_rng(0))
    assert conv.params["weight"].shape == (2, 3, 3, 3)
    assert conv.params["bias"].shape == (2,)
    assert sum(p.size for p in conv.params.values()) == 56
    assert conv.forward(np.random.default_rng(1).normal(size=(5, 3, 6, 6))).shape == (5, 2, 4, 4)
    # A dense layer between the same 108 inputs and 32 outputs: 3488 parameters.
    assert sum(p.size for p in R.Linear(108, 32).params.values()) == 3488


def test_lecture_channels_each_filter_sums_over_all_depths():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 3, 6, 6))
    conv = R.Conv2d(3, 2, 3, rng=rng)
    z = conv.forward(x)
    w, b = conv.params["weight"], conv.params["bias"]
    # Output channel 1 at position (2, 3): filter 1 dotted with the 3x3x3 block under it.
    assert z[0, 1, 2, 3] == pytest.approx((w[1] * x[0, :, 2:5, 3:6]).sum() + b[1], abs=1e-12)


def test_maxpool_2x2_hand_example_and_backward_routes_to_argmax():
    x = np.array([[[[1.0, 2, 0, 1], [3, 4, 2, 0], [0, 1, 5, 6], [2, 0, 7, 8]]]])
    pool = R.MaxPool2d(2)
    np.testing.assert_array_equal(pool.forward(x), [[[[4, 2], [2, 8]]]])
    grad_x = pool.backward(np.array([[[[10.0, 20], [30, 40]]]]))
    np.testing.assert_array_equal(grad_x, [[[[0, 0, 0, 0], [0, 10, 20, 0], [0, 0, 0, 0], [30, 0, 0, 40]]]])


def test_maxpool_keeps_channels_halves_size():
    assert R.MaxPool2d(2).forward(np.zeros((2, 6, 28, 28))).shape == (2, 6, 14, 14)


def test_overlapping_maxpool_accumulates_shared_winner():
    # Windows [0:3] and [2:5] (F=3, S=2) share x[2] = 9, the max of both: its gradient is 1 + 2.
    pool = R.MaxPool1d(3, stride=2)
    assert pool.forward(np.array([[[1.0, 0, 9, 0, 1]]])).tolist() == [[[9.0, 9.0]]]
    np.testing.assert_array_equal(pool.backward(np.array([[[1.0, 2.0]]])), [[[0, 0, 3, 0, 0]]])


def test_circular_padding_is_periodic_boundary():
    conv = R.Conv1d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
    conv.params["weight"][:] = [[[1, 0, 0]]]  # picks the left neighbour
    np.testing.assert_array_equal(conv.forward(np.array([[[1.0, 2, 3, 4]]])), [[[4, 1, 2, 3]]])


def test_float32_input_keeps_dtype():
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    net = R.build("conv(4,3,p=1)-bn-relu-maxpool(2)-flatten-linear(3)", (1, 8, 8), seed=0, dtype=np.float32)
    out = net.forward(x)
    assert out.dtype == np.float32
    assert net.backward(np.ones_like(out)).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in net.parameters())


# ---- error messages -------------------------------------------------------------------------


def test_conv_stride_that_does_not_tile_names_numbers_and_fix():
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(1, 6, kernel_size=\(5, 5\), stride=\(2, 2\)\) on input \(1, 1, 28, 28\): "
        r"height: \(W - F \+ 2P\)/S = \(28 - 5 \+ 2\*0\)/2 = 11.5 is not an integer; choose",
    ):
        R.Conv2d(1, 6, 5, stride=2).forward(np.zeros((1, 1, 28, 28)))


def test_conv_filter_wider_than_input():
    with pytest.raises(ValueError, match=r"filter wider than the padded input: F = 7 > W \+ 2P = 5 \+ 2\*0 = 5"):
        R.Conv1d(1, 1, 7).forward(np.zeros((1, 1, 5)))


def test_conv_pure_function_raises_shapes_error():
    with pytest.raises(ValueError, match=r"width: \(W - F \+ 2P\)/S = \(6 - 3 \+ 2\*0\)/2 = 1.5 is not an integer"):
        R.conv_forward(np.zeros((1, 1, 6)), np.zeros((1, 1, 3)), stride=2)


def test_conv_wrong_channels_and_rank():
    with pytest.raises(ValueError, match=r"input has 1 channels \(shape \(1, 1, 6, 6\)\), expected 3"):
        R.Conv2d(3, 2, 3).forward(np.zeros((1, 1, 6, 6)))
    with pytest.raises(ValueError, match=r"input must be \(N, C, H, W\), got shape \(3, 6, 6\)"):
        R.Conv2d(3, 2, 3).forward(np.zeros((3, 6, 6)))


def test_conv_bad_constructor_arguments():
    with pytest.raises(ValueError, match="padding_mode must be one of zeros, circular, reflect, got 'periodic'"):
        R.Conv2d(1, 1, 3, padding_mode="periodic")
    with pytest.raises(ValueError, match="out_channels must be a positive integer, got 0"):
        R.Conv1d(1, 0, 3)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        R.Conv1d(1, 1, 3, stride=0)


def test_reflect_padding_must_be_smaller_than_input():
    with pytest.raises(ValueError, match="reflect padding must be smaller than the input: padding=3, size=3"):
        R.Conv1d(1, 1, 3, padding=3, padding_mode="reflect").forward(np.zeros((1, 1, 3)))


def test_pool_errors():
    with pytest.raises(
        ValueError,
        match=r"MaxPool2d\(kernel_size=\(2, 2\), stride=\(2, 2\)\) on input \(1, 1, 5, 5\): "
        r"height: \(W - F \+ 2P\)/S = \(5 - 2 \+ 2\*0\)/2 = 1.5 is not an integer",
    ):
        R.MaxPool2d(2).forward(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match="padding must be between 0 and kernel_size/2 = 1, got 2"):
        R.AvgPool1d(2, padding=2)


def test_linear_needs_flat_input():
    with pytest.raises(
        ValueError, match=r"input must be \(N, 400\); insert Flatten before it, got shape \(2, 16, 5, 5\)"
    ):
        R.Linear(400, 10).forward(np.zeros((2, 16, 5, 5)))


def test_integer_input_is_refused():
    with pytest.raises(TypeError, match="input must be float32 or float64, got dtype int64"):
        R.Conv1d(1, 1, 3).forward(np.zeros((1, 1, 5), dtype=np.int64))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        R.Linear(3, 2).backward(np.zeros((1, 2)))


def test_batchnorm_needs_two_values_per_channel_in_training():
    with pytest.raises(ValueError, match="training needs more than 1 value per channel"):
        R.BatchNorm1d(3).forward(np.zeros((1, 3)))
    assert R.BatchNorm1d(3).eval().forward(np.zeros((1, 3))).shape == (1, 3)


def test_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"targets must be class labels in \[0, 3\), got values from 0 to 3"):
        R.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"targets must be 2 integer labels"):
        R.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"logits must be \(N, K\)"):
        R.cross_entropy(np.zeros(3), np.array([0]))


def test_dropout_probability_checked():
    with pytest.raises(ValueError, match=r"dropout probability p must be in \[0, 1\), got 1.0"):
        R.Dropout(1.0)


def test_sequential_input_shape_checked():
    net = R.build("lenet", (1, 28, 28), num_classes=10, seed=0)
    with pytest.raises(
        ValueError, match=r"input must have shape \(N, 1, 28, 28\) for this network, got \(2, 1, 32, 32\)"
    ):
        net.forward(np.zeros((2, 1, 32, 32)))


def test_build_impossible_spec_names_the_layer():
    with pytest.raises(SpecError, match=r"layer 0 'conv\(6,5,s=2\)' on input 1x28x28: .* 11.5 is not an integer"):
        R.build("conv(6,5,s=2)-relu-flatten-linear", (1, 28, 28), num_classes=10)


def test_load_state_dict_mismatch():
    net = R.build("lecture", (3, 6, 6), num_classes=10, seed=0)
    state = net.state_dict()
    del state["0.bias"]
    with pytest.raises(ValueError, match=r"missing \['0.bias'\], unexpected \[\]"):
        net.load_state_dict(state)
    state = net.state_dict()
    state["4.weight"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"4.weight: shape \(3, 3\) does not match the network's \(10, 8\)"):
        net.load_state_dict(state)


def test_sgd_argument_errors():
    net = R.build("lecture", (3, 6, 6), num_classes=10, seed=0)
    with pytest.raises(ValueError, match="lr must be > 0, got 0"):
        R.SGD(net.parameters(), lr=0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.5"):
        R.SGD(net.parameters(), lr=0.1, momentum=1.5)
    with pytest.raises(RuntimeError, match="0.weight has no gradient; call backward before step"):
        R.SGD(net.parameters(), lr=0.1).step()
