"""Elementwise activations (ReLU, Tanh, Sigmoid), Softmax and Dropout, forward and backward.

An elementwise ``y = f(z)`` has ``dL/dz = dL/dy * f'(z)``; each backward multiplies by the
derivative written in terms of what the forward pass already computed.
"""

from __future__ import annotations

import numpy as np

from cnnlab.reference.base import Layer

__all__ = ["Dropout", "ReLU", "Sigmoid", "Softmax", "Tanh", "relu", "sigmoid", "softmax", "softmax_backward", "tanh"]


def relu(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``max(0, z)`` with unit slope; returns ``(y, f'(z))``, the slope being 1 where z > 0, else 0.

    Example:
        The lecture's 1-D example after the bias:

        >>> relu(np.array([-1., -1, -3, 4, -6]))[0]
        array([0., 0., 0., 4., 0.])
    """
    return np.maximum(z, 0), (z > 0).astype(z.dtype)


def tanh(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tanh(z)``; returns ``(y, 1 - y^2)``.

    Example:
        >>> tanh(np.array([0.]))
        (array([0.]), array([1.]))
    """
    y = np.tanh(z)
    return y, 1 - y * y


def sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``1 / (1 + exp(-z))``, written as ``(1 + tanh(z/2))/2`` (no overflow); returns ``(y, y(1-y))``.

    Example:
        >>> sigmoid(np.array([0., 1000., -1000.]))[0]
        array([0.5, 1. , 0. ])
    """
    y = 0.5 * (1 + np.tanh(0.5 * z))
    return y, y * (1 - y)


def softmax(z: np.ndarray) -> np.ndarray:
    """``exp(z_i) / sum_j exp(z_j)`` over the last axis, shifted by the max so exp cannot overflow.

    Example:
        >>> softmax(np.array([[0., 0.], [1000., 0.]]))
        array([[0.5, 0.5],
               [1. , 0. ]])
    """
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(grad_out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dz_i = y_i (g_i - sum_j g_j y_j)``: the Jacobian ``diag(y) - y y^T`` applied to g.

    Example:
        A gradient that is the same for every class changes nothing (softmax ignores shifts):

        >>> g = softmax_backward(np.ones((1, 3)), softmax(np.array([[1., 2., 3.]])))
        >>> bool(np.allclose(g, 0, atol=1e-15))
        True
    """
    return y * (grad_out - (grad_out * y).sum(axis=-1, keepdims=True))


class _Elementwise(Layer):
    @staticmethod
    def function(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(y, f'(z))``; each subclass sets its own pure function."""
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        y, self._cache = type(self).function(x)  # cache: the local derivative f'(z)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._saved()


class ReLU(_Elementwise):
    """``max(0, z)``; backward passes the gradient where z > 0 and blocks it elsewhere.

    Example:
        >>> r = ReLU()
        >>> r.forward(np.array([-1., 4.])), r.backward(np.array([5., 5.]))
        (array([0., 4.]), array([0., 5.]))
    """

    function = staticmethod(relu)


class Tanh(_Elementwise):
    """``tanh(z)``; derivative ``1 - tanh(z)^2``.

    Example:
        >>> Tanh().forward(np.array([0.]))
        array([0.])
    """

    function = staticmethod(tanh)


class Sigmoid(_Elementwise):
    """``1/(1 + exp(-z))``; derivative ``y(1 - y)``.

    Example:
        >>> Sigmoid().forward(np.array([0.]))
        array([0.5])
    """

    function = staticmethod(sigmoid)


class Softmax(Layer):
    """Softmax over the features (last axis) of ``(N, K)``. For training, prefer giving logits to
    :class:`~cnnlab.reference.loss.CrossEntropyLoss`, which fuses softmax and log.

    Example:
        >>> Softmax().forward(np.array([[0., 0.]]))
        array([[0.5, 0.5]])
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = softmax(x)
        return self._cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return softmax_backward(grad_out, self._saved())


class Dropout(Layer):
    """In training, zero each activation with probability p and scale the others by 1/(1-p), so that
    the expected activation is unchanged; in eval mode, the identity.

    Args:
        p: drop probability, ``0 <= p < 1``.
        rng: generator for the masks (seed it for reproducible runs).

    Example:
        >>> d = Dropout(0.5, rng=np.random.default_rng(0))
        >>> y = d.forward(np.ones((1, 1000)))
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
        >>> d.eval().forward(np.ones((1, 3)))
        array([[1., 1., 1.]])
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng()

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0:
            self._cache = np.ones((), dtype=x.dtype)  # the identity: gradient passes unchanged
            return x
        # The same mask (kept neurons, scaled) multiplies the gradient in backward.
        self._cache = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self._cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._saved()

    def extra_repr(self) -> str:
        return f"p={self.p}"
