"""Batch normalisation (BatchNorm1d, BatchNorm2d) with running statistics and train/eval modes.

Per channel c, over the M = N x (positions) values of the batch (Ioffe & Szegedy 2015)::

    x_hat = (x - mean_c) / sqrt(var_c + eps),     y = weight_c * x_hat + bias_c

In training the batch's own mean and (biased) variance are used, and running averages are
updated for evaluation (with the unbiased variance, as PyTorch); in eval mode the running
averages are used, and the layer is a fixed affine map per channel.

Backward in training mode is more than the affine map, because mean and var depend on every x
of the channel::

    dL/dx = inv_std / M * (M g_hat - sum(g_hat) - x_hat * sum(g_hat * x_hat)),  g_hat = weight * g
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnlab.reference.base import Layer

__all__ = ["BatchNorm1d", "BatchNorm2d", "batch_norm_backward", "batch_norm_forward"]


class BatchNormCache(NamedTuple):
    x_hat: np.ndarray
    inv_std: np.ndarray  # broadcastable to x, e.g. (1, C, 1, 1)
    weight: np.ndarray  # broadcastable to x
    axes: tuple  # the axes averaged over: batch and positions
    training: bool
    batch_mean: np.ndarray
    batch_var: np.ndarray  # biased (divided by M)


def batch_norm_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    training: bool = True,
    eps: float = 1e-5,
) -> tuple[np.ndarray, BatchNormCache]:
    """Normalise each channel (axis 1) of ``(N, C)``, ``(N, C, W)`` or ``(N, C, H, W)``.

    Running statistics are *not* changed here (the function is pure); the cache carries the
    batch mean and variance so that the layer can update them.

    Example:
        >>> x = np.array([[1.], [3.]])
        >>> y, cache = batch_norm_forward(x, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1), eps=0.0)
        >>> y
        array([[-1.],
               [ 1.]])
    """
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)  # broadcast per channel
    batch_mean, batch_var = x.mean(axis=axes), x.var(axis=axes)
    mean, var = (batch_mean, batch_var) if training else (running_mean, running_var)
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype).reshape(shape)
    x_hat = (x - mean.astype(x.dtype).reshape(shape)) * inv_std
    w = weight.astype(x.dtype).reshape(shape)
    y = w * x_hat + bias.astype(x.dtype).reshape(shape)
    return y, BatchNormCache(x_hat, inv_std, w, axes, training, batch_mean, batch_var)


def batch_norm_backward(grad_out: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(grad_x, grad_weight, grad_bias)`` of :func:`batch_norm_forward`.

    Example:
        In training mode a gradient that is the same for every example is removed entirely
        (shifting all x of a channel does not change x_hat):

        >>> x = np.array([[1.], [3.]])
        >>> _, cache = batch_norm_forward(x, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1))
        >>> batch_norm_backward(np.ones((2, 1)), cache)[0]
        array([[0.],
               [0.]])
    """
    x_hat, inv_std, axes = cache.x_hat, cache.inv_std, cache.axes
    grad_bias = grad_out.sum(axis=axes)
    grad_weight = (grad_out * x_hat).sum(axis=axes)
    g_hat = grad_out * cache.weight  # dL/dx_hat
    if not cache.training:
        return g_hat * inv_std, grad_weight, grad_bias  # fixed statistics: just the affine map
    count = x_hat.size // x_hat.shape[1]  # M values per channel
    sum_g = g_hat.sum(axis=axes, keepdims=True)
    sum_gx = (g_hat * x_hat).sum(axis=axes, keepdims=True)
    grad_x = inv_std / count * (count * g_hat - sum_g - x_hat * sum_gx)
    return grad_x, grad_weight, grad_bias


class _BatchNorm(Layer):
    ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *, dtype=np.float64):
        super().__init__()
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 1:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.params["weight"] = np.ones(num_features, dtype=dtype)
        self.params["bias"] = np.zeros(num_features, dtype=dtype)
        self.buffers["running_mean"] = np.zeros(num_features, dtype=dtype)
        self.buffers["running_var"] = np.ones(num_features, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim not in self.ranks or x.shape[1] != self.num_features:
            shapes = " or ".join(("(N, C)", "(N, C, W)", "(N, C, H, W)")[r - 2] for r in self.ranks)
            raise ValueError(f"{self!r}: input must be {shapes} with C={self.num_features}, got shape {np.shape(x)}")
        if self.training and x.size == x.shape[1]:
            raise ValueError(
                f"{self!r}: training needs more than 1 value per channel, got input shape {x.shape}; "
                "use a batch of 2 or more, or eval()"
            )
        y, self._cache = batch_norm_forward(
            x,
            self.params["weight"],
            self.params["bias"],
            self.buffers["running_mean"],
            self.buffers["running_var"],
            self.training,
            self.eps,
        )
        if self.training:
            count = x.size // x.shape[1]
            unbiased = self._cache.batch_var * count / (count - 1)
            # In place: the buffer arrays keep their identity (load_state_dict also writes in place).
            for name, batch in (("running_mean", self._cache.batch_mean), ("running_var", unbiased)):
                self.buffers[name] *= 1 - self.momentum
                self.buffers[name] += self.momentum * batch
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_x, grad_w, grad_b = batch_norm_backward(grad_out, self._saved())
        self._store_grads(weight=grad_w, bias=grad_b)
        return grad_x

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch norm of ``(N, C)`` features or ``(N, C, W)`` 1-D feature maps, per channel C.

    Example:
        >>> bn = BatchNorm1d(2)
        >>> y = bn.forward(np.array([[0., 10.], [2., 30.]]))
        >>> y.round(3), bn.buffers["running_mean"]
        (array([[-1., -1.],
               [ 1.,  1.]]), array([0.1, 2. ]))
    """

    ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of ``(N, C, H, W)`` feature maps, statistics over batch and positions per channel.

    Example:
        >>> bn = BatchNorm2d(3)
        >>> y = bn.forward(np.random.default_rng(0).normal(size=(4, 3, 5, 5)))
        >>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0) and np.allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-3))
        True
    """

    ranks = (4,)
