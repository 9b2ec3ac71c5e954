"""All-to-all layers: Linear (dense) and Flatten, the classifier at the end of a CNN.

Linear: ``z = x W^T + b``, every input connected to every output with its own weight (no tying):
``dL/dW = g^T x`` sums over the examples of the batch only, ``dL/dx = g W``.
"""

from __future__ import annotations

import numpy as np

from cnnlab.reference.base import Layer, check_input, init_uniform

__all__ = ["Flatten", "Linear", "linear_backward", "linear_forward"]


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """``z = x @ weight.T + bias``.

    Shape:
        x ``(N, in_features)``, weight ``(out_features, in_features)`` -> ``(N, out_features)``.

    Example:
        >>> z, _ = linear_forward(np.array([[1., 2.]]), np.array([[1., 0.], [1., 1.]]), np.array([0., -3.]))
        >>> z
        array([[1., 0.]])
    """
    if x.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"input must be (N, {weight.shape[1]}) for weight {weight.shape}, got {x.shape}")
    w = weight.astype(x.dtype, copy=False)
    z = x @ w.T  # (N, out_features)
    if bias is not None:
        z += bias.astype(x.dtype, copy=False)
    return z, (x, w, bias is not None)


def linear_backward(grad_out: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients ``(grad_x, grad_weight, grad_bias)`` of :func:`linear_forward`.

    Example:
        >>> z, cache = linear_forward(np.array([[1., 2.]]), np.array([[1., 0.], [1., 1.]]), np.array([0., -3.]))
        >>> gx, gw, gb = linear_backward(np.array([[1., 10.]]), cache)
        >>> gx, gw
        (array([[11., 10.]]), array([[ 1.,  2.],
               [10., 20.]]))
    """
    x, w, has_bias = cache
    g = grad_out.astype(x.dtype, copy=False)
    grad_w = g.T @ x  # (out, in): summed over the batch
    grad_b = g.sum(axis=0) if has_bias else None
    return g @ w, grad_w, grad_b


class Linear(Layer):
    """Dense layer ``(N, in_features) -> (N, out_features)``, weight ``(out_features, in_features)``.

    Args:
        in_features, out_features: sizes of input and output.
        bias: add a bias per output.
        dtype: dtype of the parameters; rng: generator for PyTorch's default initialisation.

    Example:
        The lecture's comparison: a dense layer between 108 inputs and 32 outputs has 3488 parameters.

        >>> sum(p.size for p in Linear(108, 32).params.values())
        3488
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype=np.float64,
        rng: np.random.Generator | None = None,
    ):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        rng = rng if rng is not None else np.random.default_rng()
        self.params["weight"] = init_uniform(rng, (out_features, in_features), in_features, dtype)
        if bias:
            self.params["bias"] = init_uniform(rng, (out_features,), in_features, dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input(self, x, 2, self.in_features, what=f"(N, {self.in_features}); insert Flatten before it")
        z, self._cache = linear_forward(x, self.params["weight"], self.params.get("bias"))
        return z

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_x, grad_w, grad_b = linear_backward(grad_out, self._saved())
        self._store_grads(weight=grad_w, bias=grad_b)
        return grad_x

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}" + (
            "" if "bias" in self.params else ", bias=False"
        )


class Flatten(Layer):
    """``(N, C, H, W) -> (N, C*H*W)`` in channel-major order (as ``torch.nn.Flatten``).

    Example:
        >>> f = Flatten()
        >>> f.forward(np.zeros((2, 16, 5, 5))).shape
        (2, 400)
        >>> f.backward(np.zeros((2, 400))).shape
        (2, 16, 5, 5)
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)  # (N, C*H*W)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(self._saved())
