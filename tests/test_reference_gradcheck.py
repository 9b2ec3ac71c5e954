"""Finite-difference check of every reference layer's backward pass (float64, central differences).

For a layer f and a fixed random R, the scalar L = sum(f(x) * R) has dL/dx = backward(R); each
entry is compared with (L(x + h e_i) - L(x - h e_i)) / 2h, and likewise for every parameter.
"""

import numpy as np
import pytest

from cnnlab import reference as R

H = 1e-6


def numerical_gradient(loss, array: np.ndarray) -> np.ndarray:
    """Central differences of ``loss()`` with respect to every entry of ``array`` (changed in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + H
        up = loss()
        array[index] = old - H
        down = loss()
        array[index] = old
        grad[index] = (up - down) / (2 * H)
    return grad


def check_layer(make_layer, x: np.ndarray, seed: int = 0):
    """Backward of ``make_layer()`` vs finite differences, for the input and every parameter."""
    rng = np.random.default_rng(seed)
    layer = make_layer()
    out = layer.forward(x)
    weights = rng.normal(size=out.shape)
    grad_x = layer.backward(weights)

    def loss() -> float:
        return float((layer.forward(x) * weights).sum())

    np.testing.assert_allclose(grad_x, numerical_gradient(loss, x), rtol=1e-6, atol=1e-8)
    for name, param in layer.params.items():
        np.testing.assert_allclose(
            layer.grads[name], numerical_gradient(loss, param), rtol=1e-6, atol=1e-8, err_msg=f"gradient of {name}"
        )
    return layer


def random(*shape, seed=1):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
def test_conv1d(mode):
    rng = np.random.default_rng(0)
    check_layer(lambda: R.Conv1d(2, 3, 3, stride=2, padding=2, padding_mode=mode, rng=rng), random(2, 2, 7))


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect"])
def test_conv2d(mode):
    rng = np.random.default_rng(0)
    layer = check_layer(
        lambda: R.Conv2d(2, 2, (3, 2), stride=(1, 2), padding=(1, 1), padding_mode=mode, rng=rng), random(2, 2, 4, 6)
    )
    assert layer.grads["weight"].shape == layer.params["weight"].shape == (2, 2, 3, 2)


def test_conv2d_without_bias():
    layer = check_layer(lambda: R.Conv2d(1, 2, 2, bias=False, rng=np.random.default_rng(0)), random(1, 1, 3, 3))
    assert set(layer.grads) == {"weight"}


@pytest.mark.parametrize(
    "make", [lambda: R.MaxPool1d(3, stride=2, padding=1), lambda: R.AvgPool1d(3, stride=2, padding=1)]
)
def test_pool1d(make):
    check_layer(make, random(2, 2, 7))


@pytest.mark.parametrize(
    "make",
    [
        lambda: R.MaxPool2d(2),
        lambda: R.MaxPool2d(3, stride=1, padding=1),
        lambda: R.AvgPool2d(2),
        lambda: R.AvgPool2d(3, stride=2, padding=1),
    ],
)
def test_pool2d(make):
    check_layer(make, random(2, 2, 5, 5) if make().kernel_size[0] == 3 else random(2, 2, 4, 4))


def test_global_avg_pool():
    check_layer(R.GlobalAvgPool, random(2, 3, 3, 4))


def test_linear_and_flatten():
    check_layer(lambda: R.Linear(5, 3, rng=np.random.default_rng(0)), random(4, 5))
    check_layer(R.Flatten, random(2, 3, 2, 2))


@pytest.mark.parametrize("make", [R.ReLU, R.Tanh, R.Sigmoid, R.Softmax])
def test_activations(make):
    check_layer(make, 2 * random(3, 4))


class FixedMaskDropout(R.Dropout):
    """Dropout whose generator restarts at every forward pass, so every pass draws the same mask."""

    def forward(self, x):
        self.rng = np.random.default_rng(7)
        return super().forward(x)


def test_dropout_with_fixed_mask():
    layer = check_layer(lambda: FixedMaskDropout(0.4), random(3, 5))
    assert 0 < (layer.forward(random(3, 5)) == 0).sum() < 15  # some, not all, dropped


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(
    "make, shape", [(R.BatchNorm1d, (4, 3)), (R.BatchNorm1d, (3, 2, 4)), (R.BatchNorm2d, (3, 2, 3, 3))]
)
def test_batchnorm(make, shape, training):
    def build():
        layer = make(shape[1]).train(training)
        layer.params["weight"][:] = 1 + random(shape[1], seed=3)
        layer.params["bias"][:] = random(shape[1], seed=4)
        layer.buffers["running_var"][:] = 1.5
        return layer

    check_layer(build, 2 + random(*shape))


def test_cross_entropy_gradient():
    logits, targets = random(4, 5), np.array([0, 4, 2, 2])
    _, grad = R.cross_entropy(logits, targets)
    numerical = numerical_gradient(lambda: R.cross_entropy(logits, targets)[0], logits)
    np.testing.assert_allclose(grad, numerical, rtol=1e-6, atol=1e-9)


def test_whole_network_gradient():
    net = R.build("conv(2,3,p=1,mode=circular)-bn-tanh-maxpool(2)-flatten-linear(3)", (1, 4, 4), seed=0)
    x, y = random(3, 1, 4, 4), np.array([0, 2, 1])

    def loss() -> float:
        return R.cross_entropy(net.forward(x), y)[0]

    net.backward(R.cross_entropy(net.forward(x), y)[1])
    analytic = {p.name: p.grad.copy() for p in net.parameters()}
    for p in net.parameters():
        np.testing.assert_allclose(
            analytic[p.name], numerical_gradient(loss, p.data), rtol=1e-5, atol=1e-8, err_msg=p.name
        )
