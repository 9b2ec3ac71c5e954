"""Reference layers vs PyTorch, forward and backward, in float64 on random shapes (hypothesis)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import reference as R

SETTINGS = settings(max_examples=40, deadline=None)
TOL = dict(rtol=1e-10, atol=1e-12)


def close(actual, expected):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    np.testing.assert_allclose(actual, expected, **TOL)


def leaf(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


@st.composite
def conv_case(draw, dims):
    """A conv geometry that tiles exactly: W = (out - 1)*S + F - 2P (W >= 1, reflect needs P < W)."""
    mode = draw(st.sampled_from(["zeros", "circular", "reflect"]))
    kernel, stride, padding, size = [], [], [], []
    for _ in range(dims):
        k, s, p, m = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(0, 2)), draw(st.integers(1, 4))
        w = (m - 1) * s + k - 2 * p
        if w < 1 or (mode != "zeros" and p >= w):  # torch: circular needs P <= W; reflect P < W
            p, w = 0, (m - 1) * s + k
        kernel.append(k), stride.append(s), padding.append(p), size.append(w)
    return dict(
        n=draw(st.integers(1, 3)),
        c_in=draw(st.integers(1, 3)),
        c_out=draw(st.integers(1, 3)),
        kernel=tuple(kernel),
        stride=tuple(stride),
        padding=tuple(padding),
        size=tuple(size),
        mode=mode,
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def check_conv(case, dims):
    rng = np.random.default_rng(case["seed"])
    cls, torch_cls = (R.Conv1d, torch.nn.Conv1d) if dims == 1 else (R.Conv2d, torch.nn.Conv2d)
    layer = cls(
        case["c_in"],
        case["c_out"],
        case["kernel"],
        case["stride"],
        case["padding"],
        case["mode"],
        case["bias"],
        rng=rng,
    )
    x = rng.normal(size=(case["n"], case["c_in"]) + case["size"])
    z = layer.forward(x)
    g = rng.normal(size=z.shape)
    grad_x = layer.backward(g)

    ref = torch_cls(
        case["c_in"],
        case["c_out"],
        case["kernel"],
        case["stride"],
        case["padding"],
        padding_mode=case["mode"],
        bias=case["bias"],
    ).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.params["weight"]))
        if case["bias"]:
            ref.bias.copy_(torch.tensor(layer.params["bias"]))
    tx = leaf(x)
    tz = ref(tx)
    tz.backward(torch.tensor(g))
    close(z, tz)
    close(grad_x, tx.grad)
    close(layer.grads["weight"], ref.weight.grad)
    if case["bias"]:
        close(layer.grads["bias"], ref.bias.grad)
    else:
        assert "bias" not in layer.grads


@SETTINGS
@given(conv_case(1))
def test_conv1d_matches_torch(case):
    check_conv(case, 1)


@SETTINGS
@given(conv_case(2))
def test_conv2d_matches_torch(case):
    check_conv(case, 2)


@st.composite
def pool_case(draw, dims):
    kernel, stride, padding, size = [], [], [], []
    default_stride = draw(st.booleans())
    for _ in range(dims):
        k = draw(st.integers(1, 4))
        s = k if default_stride else draw(st.integers(1, 3))
        p, m = draw(st.integers(0, k // 2)), draw(st.integers(1, 4))
        w = (m - 1) * s + k - 2 * p
        if w < 1:
            p, w = 0, (m - 1) * s + k
        kernel.append(k), stride.append(s), padding.append(p), size.append(w)
    return dict(
        n=draw(st.integers(1, 3)),
        c=draw(st.integers(1, 3)),
        kernel=tuple(kernel),
        stride=None if default_stride else tuple(stride),
        padding=tuple(padding),
        size=tuple(size),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("dims", [1, 2])
@SETTINGS
@given(data=st.data())
def test_pools_match_torch(kind, dims, data):
    case = data.draw(pool_case(dims))
    rng = np.random.default_rng(case["seed"])
    cls = {("max", 1): R.MaxPool1d, ("max", 2): R.MaxPool2d, ("avg", 1): R.AvgPool1d, ("avg", 2): R.AvgPool2d}[
        kind, dims
    ]
    fn = {("max", 1): F.max_pool1d, ("max", 2): F.max_pool2d, ("avg", 1): F.avg_pool1d, ("avg", 2): F.avg_pool2d}[
        kind, dims
    ]
    layer = cls(case["kernel"], case["stride"], case["padding"])
    x = rng.normal(size=(case["n"], case["c"]) + case["size"])  # continuous values: no ties for max
    y = layer.forward(x)
    g = rng.normal(size=y.shape)
    grad_x = layer.backward(g)
    tx = leaf(x)
    ty = fn(tx, case["kernel"], case["stride"], case["padding"])
    ty.backward(torch.tensor(g))
    close(y, ty)
    close(grad_x, tx.grad)


@SETTINGS
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 4),
    size=st.lists(st.integers(1, 5), min_size=1, max_size=2),
    seed=st.integers(0, 2**32 - 1),
)
def test_global_avg_pool_matches_torch(n, c, size, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, *size))
    layer = R.GlobalAvgPool()
    y = layer.forward(x)
    g = rng.normal(size=y.shape)
    tx = leaf(x)
    ty = tx.flatten(2).mean(-1)
    ty.backward(torch.tensor(g))
    close(y, ty)
    close(layer.backward(g), tx.grad)


@SETTINGS
@given(
    n=st.integers(1, 4),
    fin=st.integers(1, 6),
    fout=st.integers(1, 6),
    bias=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_and_flatten_match_torch(n, fin, fout, bias, seed):
    rng = np.random.default_rng(seed)
    flat, layer = R.Flatten(), R.Linear(fin * 2, fout, bias=bias, rng=rng)
    x = rng.normal(size=(n, fin, 2))
    y = layer.forward(flat.forward(x))
    g = rng.normal(size=y.shape)
    grad_x = flat.backward(layer.backward(g))
    tw = leaf(layer.params["weight"])
    tb = leaf(layer.params["bias"]) if bias else None
    tx = leaf(x)
    ty = F.linear(tx.flatten(1), tw, tb)
    ty.backward(torch.tensor(g))
    close(y, ty)
    close(grad_x, tx.grad)
    close(layer.grads["weight"], tw.grad)
    if bias:
        close(layer.grads["bias"], tb.grad)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "softmax"])
@SETTINGS
@given(
    shape=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    scale=st.sampled_from([1.0, 10.0, 300.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_activations_match_torch(name, shape, scale, seed):
    rng = np.random.default_rng(seed)
    layer = {"relu": R.ReLU, "tanh": R.Tanh, "sigmoid": R.Sigmoid, "softmax": R.Softmax}[name]()
    fn = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softmax": lambda t: torch.softmax(t, dim=-1),
    }[name]
    x = scale * rng.normal(size=shape)
    y = layer.forward(x)
    g = rng.normal(size=y.shape)
    tx = leaf(x)
    ty = fn(tx)
    ty.backward(torch.tensor(g))
    close(y, ty)
    close(layer.backward(g), tx.grad)


@pytest.mark.parametrize("training", [True, False])
@SETTINGS
@given(
    rank=st.integers(2, 4),
    n=st.integers(2, 4),
    c=st.integers(1, 3),
    w=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_batchnorm_matches_torch(training, rank, n, c, w, seed):
    rng = np.random.default_rng(seed)
    shape = (n, c) + (w,) * (rank - 2)
    layer = (R.BatchNorm2d if rank == 4 else R.BatchNorm1d)(c)
    module = (torch.nn.BatchNorm2d if rank == 4 else torch.nn.BatchNorm1d)(c).double()
    state = {
        "weight": rng.normal(size=c),
        "bias": rng.normal(size=c),
        "running_mean": rng.normal(size=c),
        "running_var": rng.uniform(0.5, 2, size=c),
    }
    for key, value in state.items():
        (layer.params if key in layer.params else layer.buffers)[key][:] = value
        getattr(module, key).data.copy_(torch.tensor(value))
    layer.train(training), module.train(training)
    x = 3 + 2 * rng.normal(size=shape)
    y = layer.forward(x)
    g = rng.normal(size=y.shape)
    grad_x = layer.backward(g)
    tx = leaf(x)
    ty = module(tx)
    ty.backward(torch.tensor(g))
    close(y, ty)
    close(grad_x, tx.grad)
    close(layer.grads["weight"], module.weight.grad)
    close(layer.grads["bias"], module.bias.grad)
    close(layer.buffers["running_mean"], module.running_mean)
    close(layer.buffers["running_var"], module.running_var)


@SETTINGS
@given(
    n=st.integers(1, 5), k=st.integers(2, 6), scale=st.sampled_from([1.0, 50.0, 1000.0]), seed=st.integers(0, 2**32 - 1)
)
def test_cross_entropy_matches_torch(n, k, scale, seed):
    rng = np.random.default_rng(seed)
    logits = scale * rng.normal(size=(n, k))
    targets = rng.integers(0, k, size=n)
    loss, grad = R.CrossEntropyLoss()(logits, targets)
    tz = leaf(logits)
    tloss = F.cross_entropy(tz, torch.tensor(targets))
    tloss.backward()
    assert np.isfinite(loss)
    assert loss == pytest.approx(tloss.item(), rel=1e-10, abs=1e-12)
    close(grad, tz.grad)


def test_dropout_masks_forward_and_backward_alike():
    d = R.Dropout(0.3, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).uniform(1, 2, size=(200, 50))
    y = d.forward(x)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01  # 10,000 Bernoulli draws: sd 0.0046
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-15)
    g = np.random.default_rng(2).normal(size=x.shape)
    np.testing.assert_allclose(d.backward(g), np.where(kept, g / 0.7, 0.0), rtol=1e-15)
    d.eval()
    np.testing.assert_array_equal(d.forward(x), x)
    np.testing.assert_array_equal(d.backward(g), g)


@pytest.mark.parametrize("stride", [1, 2])
def test_maxpool_ties_route_to_first_maximum_like_torch(stride):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(2, 3, 6, 6)).astype(np.float64)  # many ties, as after a ReLU
    layer = R.MaxPool2d(2, stride=stride)
    y = layer.forward(x)
    g = rng.normal(size=y.shape)
    tx = leaf(x)
    ty = F.max_pool2d(tx, 2, stride)
    ty.backward(torch.tensor(g))
    close(y, ty)
    close(layer.backward(g), tx.grad)
