"""Whole reference networks vs the PyTorch engine with the same weights: losses, gradients, weight copies."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab import engine
from cnnlab import reference as R


def engine_loss_and_grads(net, x: np.ndarray, y: np.ndarray):
    net.zero_grad()
    logits = net(torch.tensor(x))
    loss = F.cross_entropy(logits, torch.tensor(y))
    loss.backward()
    return logits.detach().numpy(), loss.item(), {k: p.grad.numpy() for k, p in net.named_parameters()}


def reference_loss_and_grads(ref, x: np.ndarray, y: np.ndarray):
    logits = ref.forward(x)
    loss, grad = R.CrossEntropyLoss()(logits, y)
    ref.backward(grad)
    return logits, loss, {p.name: p.grad for p in ref.parameters()}


def assert_same_step(ref, net, x, y, rtol=1e-10):
    ref_logits, ref_loss, ref_grads = reference_loss_and_grads(ref, x, y)
    net_logits, net_loss, net_grads = engine_loss_and_grads(net, x, y)
    np.testing.assert_allclose(ref_logits, net_logits, rtol=rtol, atol=1e-12)
    assert ref_loss == pytest.approx(net_loss, rel=rtol)
    assert sorted(ref_grads) == sorted(net_grads)
    for name, grad in ref_grads.items():
        assert grad.shape == net_grads[name].shape
        np.testing.assert_allclose(grad, net_grads[name], rtol=rtol, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(
    "model, shape, classes",
    [
        ("lenet", (1, 28, 28), 10),
        (
            "conv(4,3,p=1,mode=circular)-bn-relu-maxpool(2)-conv(6,3,p=1,mode=reflect)-bn-tanh-avgpool(2)-flatten-linear(8)-sigmoid-linear",
            (2, 16),
            3,
        ),
        ("fast", (1, 12, 12), 4),
    ],
)
@pytest.mark.parametrize("training", [True, False])
def test_reference_equals_engine(model, shape, classes, training):
    net = engine.build(model, shape, num_classes=classes, seed=0).double().train(training)
    ref = R.from_engine(net)
    assert ref.training is training
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6,) + shape), rng.integers(0, classes, size=6)
    assert_same_step(ref, net, x, y)
    # BatchNorm running statistics moved identically (train) or not at all (eval).
    ref_state, net_state = ref.state_dict(), engine.to_numpy_state(net)
    for key in net_state:
        np.testing.assert_allclose(ref_state[key], net_state[key], rtol=1e-12, atol=1e-15, err_msg=key)


def test_dense_network_with_dropout_in_eval_mode():
    net = engine.build("mlp", (1, 28, 28), num_classes=10, seed=0).double().eval()
    ref = R.from_engine(net)
    rng = np.random.default_rng(2)
    assert_same_step(ref, net, rng.normal(size=(4, 1, 28, 28)), rng.integers(0, 10, size=4))


def test_state_dict_keys_are_the_engines():
    for model in ("lenet", "fast", "mlp"):
        net = engine.build(model, (1, 28, 28), num_classes=10, seed=0)
        ref = R.build(model, (1, 28, 28), num_classes=10, seed=0)
        assert list(ref.state_dict()) == list(engine.to_numpy_state(net))
        assert ref.num_params == net.num_params


def test_weights_round_trip_engine_reference_engine():
    source = engine.build("fast", (1, 28, 28), num_classes=10, seed=0)
    with torch.no_grad():  # non-default running statistics, to check that buffers travel too
        for module in source.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    ref = R.from_engine(source)
    target = engine.build("fast", (1, 28, 28), num_classes=10, seed=1)
    assert not torch.equal(target[0].weight, source[0].weight)
    R.to_engine(ref, target)
    for key, value in source.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(target.state_dict()[key], value), key


def test_weights_round_trip_reference_engine_reference():
    ref = R.build("lenet", (1, 28, 28), num_classes=10, seed=3)
    net = R.to_engine(ref, engine.build("lenet", (1, 28, 28), num_classes=10, seed=0).double())
    back = R.from_engine(net)
    for key, value in ref.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key], value)


def test_build_is_seeded_and_uses_pytorch_init_bounds():
    a = R.build("lenet", (1, 28, 28), num_classes=10, seed=5)
    b = R.build("lenet", (1, 28, 28), num_classes=10, seed=5)
    c = R.build("lenet", (1, 28, 28), num_classes=10, seed=6)
    assert all(np.array_equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not np.array_equal(a.state_dict()["0.weight"], c.state_dict()["0.weight"])
    w = a.state_dict()["0.weight"]  # fan_in = 1*5*5: U(-0.2, 0.2)
    assert np.abs(w).max() <= 0.2 and np.abs(w).max() > 0.15


def test_sgd_matches_torch_sgd_with_momentum_and_weight_decay():
    net = engine.build("conv(3,3,p=1)-bn-relu-maxpool(2)-flatten-linear", (1, 6, 6), num_classes=4, seed=0).double()
    ref = R.from_engine(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    ref_opt = R.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x, y = rng.normal(size=(5, 1, 6, 6)), rng.integers(0, 4, size=5)
        engine_loss_and_grads(net, x, y)
        opt.step()
        reference_loss_and_grads(ref, x, y)
        ref_opt.step()
    for key, value in engine.to_numpy_state(net).items():
        np.testing.assert_allclose(ref.state_dict()[key], value, rtol=1e-10, atol=1e-12, err_msg=key)


def test_training_steps_reduce_the_loss():
    ref = R.build("lecture", (3, 6, 6), num_classes=3, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3, 6, 6)), rng.integers(0, 3, size=12)
    opt = R.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(30):
        loss, grad = R.cross_entropy(ref.forward(x), y)
        ref.backward(grad)
        opt.step()
        losses.append(loss)
    assert losses[-1] < 0.5 * losses[0]


def test_load_state_dict_keeps_arrays_so_optimizer_still_works():
    ref = R.build("lecture", (3, 6, 6), num_classes=10, seed=0)
    opt = R.SGD(ref.parameters(), lr=0.1)
    weight = ref[0].params["weight"]
    ref.load_state_dict(R.build("lecture", (3, 6, 6), num_classes=10, seed=1).state_dict())
    assert ref[0].params["weight"] is weight
    assert opt.params[0].data is weight
