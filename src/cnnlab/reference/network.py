"""A reference network: ``Sequential`` of layers, SGD, building from a spec, weight copy to/from PyTorch.

Layer ``i`` of a :class:`Sequential` is layer ``i`` of the spec and module ``i`` of the engine's
network, so ``state_dict()`` keys (``"0.weight"``, ``"1.running_mean"``, ...) are the engine's.

Example:
    One SGD step of the lecture's network on a random batch:

    >>> net = build("lecture", (3, 6, 6), num_classes=10, seed=0)
    >>> x, y = np.random.default_rng(0).normal(size=(8, 3, 6, 6)), np.arange(8)
    >>> loss, grad = CrossEntropyLoss()(net.forward(x), y)
    >>> _ = net.backward(grad)
    >>> SGD(net.parameters(), lr=0.1).step()
    >>> CrossEntropyLoss()(net.forward(x), y)[0] < loss
    True
    >>> sorted(net.state_dict())
    ['0.bias', '0.weight', '4.bias', '4.weight']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from cnnlab import spec as S
from cnnlab.reference.activations import Dropout, ReLU, Sigmoid, Softmax, Tanh
from cnnlab.reference.base import Layer
from cnnlab.reference.conv import Conv1d, Conv2d
from cnnlab.reference.dense import Flatten, Linear
from cnnlab.reference.loss import CrossEntropyLoss  # noqa: F401 (used by the module example)
from cnnlab.reference.norm import BatchNorm1d, BatchNorm2d
from cnnlab.reference.pool import AvgPool1d, AvgPool2d, GlobalAvgPool, MaxPool1d, MaxPool2d

__all__ = ["SGD", "Parameter", "Sequential", "build", "from_engine", "to_engine"]


@dataclass(frozen=True)
class Parameter:
    """A handle on one trainable array: ``data`` (updated in place) and ``grad`` (from backward)."""

    name: str  # e.g. "0.weight", as in the engine's state_dict
    layer: Layer
    key: str  # e.g. "weight"

    @property
    def data(self) -> np.ndarray:
        return self.layer.params[self.key]

    @property
    def grad(self) -> np.ndarray | None:
        return self.layer.grads.get(self.key)


class Sequential:
    """Layers applied in order; ``backward`` applies their backward passes in reverse (the chain rule).

    Args:
        layers: reference layers.
        input_shape: one example's shape; when given, ``forward`` checks its input against it.
        spec: the cnnlab.spec layers it was built from (set by :func:`build`).

    Gradients are not accumulated: each ``backward`` overwrites every layer's ``grads``.
    """

    def __init__(
        self, layers: Sequence[Layer], input_shape: Sequence[int] | None = None, spec: Sequence[S.Layer] | None = None
    ):
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} must be a cnnlab.reference layer, got {type(layer).__name__}")
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.spec = tuple(spec) if spec is not None else None
        self.training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.input_shape is not None and tuple(np.shape(x)[1:]) != self.input_shape:
            raise ValueError(
                f"input must have shape (N, {', '.join(map(str, self.input_shape))}) "
                f"for this network, got {np.shape(x)}"
            )
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Propagate dLoss/doutput back through every layer; returns dLoss/dinput."""
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    def eval(self) -> Sequential:
        return self.train(False)

    def parameters(self) -> Iterator[Parameter]:
        for i, layer in enumerate(self.layers):
            for key in layer.params:
                yield Parameter(f"{i}.{key}", layer, key)

    @property
    def num_params(self) -> int:
        return sum(p.data.size for p in self.parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed ``"<layer>.<name>"`` like the engine's."""
        return {
            f"{i}.{key}": value.copy()
            for i, layer in enumerate(self.layers)
            for key, value in {**layer.params, **layer.buffers}.items()
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the layers (in place, keeping each array's dtype); keys and shapes must match."""
        own = {
            f"{i}.{key}": value
            for i, layer in enumerate(self.layers)
            for key, value in {**layer.params, **layer.buffers}.items()
        }
        missing, unknown = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unknown:
            raise ValueError(f"state does not match the network: missing {missing}, unexpected {unknown}")
        for key, value in state.items():
            if np.shape(value) != own[key].shape:
                raise ValueError(f"{key}: shape {np.shape(value)} does not match the network's {own[key].shape}")
        for key, value in state.items():
            own[key][...] = value  # in place: optimizers hold these very arrays

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        rows = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({rows}\n)"


class SGD:
    """Stochastic gradient descent with optional momentum and L2 weight decay (as ``torch.optim.SGD``).

    ``g = grad + weight_decay * p``;  ``v = momentum * v + g`` (v = g at the first step);  ``p -= lr * v``.

    Args:
        params: :class:`Parameter` handles, e.g. ``model.parameters()``.
        lr: learning rate (> 0). momentum: in [0, 1). weight_decay: >= 0.
    """

    def __init__(self, params: Iterable[Parameter], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD got an empty parameter list")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                raise RuntimeError(f"{p.name} has no gradient; call backward before step")
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                velocity = self.velocity[i]
                g = g.copy() if velocity is None else self.momentum * velocity + g
                self.velocity[i] = g
            p.data[...] -= self.lr * g  # in place: the layer keeps the same array


def _layer(info: S.LayerInfo, rng: np.random.Generator, dtype) -> Layer:
    """The reference layer of one analysed spec row (1-D or 2-D by the input's rank)."""
    layer, in_shape = info.layer, info.in_shape
    dims = len(in_shape) - 1
    if isinstance(layer, S.Conv):
        conv = Conv1d if dims == 1 else Conv2d
        return conv(
            in_shape[0],
            layer.out_channels,
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.padding_mode,
            layer.bias,
            dtype=dtype,
            rng=rng,
        )
    if isinstance(layer, (S.MaxPool, S.AvgPool)):
        pools = {S.MaxPool: (MaxPool1d, MaxPool2d), S.AvgPool: (AvgPool1d, AvgPool2d)}[type(layer)]
        return pools[dims - 1](layer.kernel_size, layer.step, layer.padding)
    if isinstance(layer, S.BatchNorm):
        return (BatchNorm2d if dims == 2 else BatchNorm1d)(in_shape[0], dtype=dtype)
    if isinstance(layer, S.Linear):
        assert layer.out_features is not None, "analyze() gives every linear layer its size"
        return Linear(in_shape[0], layer.out_features, layer.bias, dtype=dtype, rng=rng)
    if isinstance(layer, S.Dropout):
        return Dropout(layer.p, rng=rng.spawn(1)[0])
    simple = {
        S.GlobalAvgPool: GlobalAvgPool,
        S.Flatten: Flatten,
        S.ReLU: ReLU,
        S.Tanh: Tanh,
        S.Sigmoid: Sigmoid,
        S.Softmax: Softmax,
    }
    if type(layer) in simple:
        return simple[type(layer)]()
    raise TypeError(f"no reference layer for {layer!r}")


def build(
    model: S.Spec, input_shape: Sequence[int], num_classes: int | None = None, seed: int | None = None, dtype=np.float64
) -> Sequential:
    """Build the reference network of a spec (preset name, text or list of layers).

    Args:
        model: e.g. ``"lenet"`` or ``"conv(16,5,p=2)-relu-maxpool(2)-flatten-linear"``.
        input_shape: one example's shape, channels first, e.g. ``(1, 28, 28)``.
        num_classes: fills ``linear`` layers without a size.
        seed: seeds the initial weights (PyTorch's default uniform bounds) and dropout masks.
        dtype: ``np.float64`` (exact comparisons) or ``np.float32`` (faster training).

    Raises:
        cnnlab.spec.SpecError: (a ValueError) naming the layer that does not fit its input.

    Example:
        >>> net = build("lenet", (1, 28, 28), num_classes=10, seed=0)
        >>> net.num_params, net.forward(np.zeros((2, 1, 28, 28))).shape
        (61706, (2, 10))
    """
    layers = S.resolve(model, num_classes)
    infos = S.analyze(layers, input_shape)  # validates every layer with cnnlab.shapes
    rng = np.random.default_rng(seed)
    return Sequential([_layer(info, rng, dtype) for info in infos], input_shape=input_shape, spec=layers)


def from_engine(net, dtype=np.float64) -> Sequential:
    """A reference copy of an engine network (:func:`cnnlab.engine.build`): same layers, weights,
    running statistics and train/eval mode.

    Example:
        >>> from cnnlab import engine
        >>> ref = from_engine(engine.build("lecture", (3, 6, 6), num_classes=10, seed=0))
        >>> ref.num_params
        146
    """
    from cnnlab.engine import to_numpy_state  # imported here: the reference itself needs only NumPy

    ref = build(net.layers, net.input_shape, dtype=dtype)
    ref.load_state_dict(to_numpy_state(net))
    return ref.train(net.training)


def to_engine(ref: Sequential, net):
    """Copy the reference's weights and buffers into an engine network with the same spec; returns ``net``."""
    from cnnlab.engine import load_numpy_state

    load_numpy_state(net, ref.state_dict())
    return net
