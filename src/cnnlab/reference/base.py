"""The base of every reference layer: a holder of named arrays with ``forward`` and ``backward``.

A layer keeps three dictionaries, all keyed with PyTorch's names so that ``"0.weight"`` means
the same array here, in the engine and in a checkpoint:

* ``params``: trainable arrays (``weight``, ``bias``);
* ``grads``: filled by ``backward``, one array per parameter, same shape;
* ``buffers``: state that is saved but not trained (BatchNorm's ``running_mean``/``running_var``).

The math lives in pure functions (``conv_forward``, ``conv_backward``, ...) that the layers call;
``forward`` keeps the function's cache for the matching ``backward``.
"""

from __future__ import annotations

import math

import numpy as np


class Layer:
    """Base class: parameters, gradients, buffers, train/eval mode.

    Subclasses implement ``forward(x)`` (store what backward needs in ``self._cache``) and
    ``backward(grad_out) -> grad_in`` (fill ``self.grads``).
    """

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = True
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def train(self, mode: bool = True) -> Layer:
        self.training = mode
        return self

    def eval(self) -> Layer:
        return self.train(False)

    def _saved(self):
        """The forward cache, or a clear error when backward comes before forward."""
        if self._cache is None:
            raise RuntimeError(f"{self!r}: backward called before forward")
        return self._cache

    def _store_grads(self, **grads: np.ndarray | None) -> None:
        """Keep each gradient in its parameter's dtype (the math may run in the input's dtype).

        A gradient of ``None`` belongs to a parameter the layer does not have (no bias).
        """
        self.grads = {
            name: np.asarray(g, dtype=self.params[name].dtype)
            for name, g in grads.items()
            if name in self.params and g is not None
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""


def init_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype) -> np.ndarray:
    """PyTorch's default initialisation of conv and linear layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    (``kaiming_uniform_(a=sqrt(5))`` for the weight reduces to this bound, and the bias uses it too.)

    Example:
        >>> w = init_uniform(np.random.default_rng(0), (16, 25), fan_in=25, dtype=np.float64)
        >>> bool(np.abs(w).max() <= 0.2)
        True
    """
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def check_input(layer: Layer, x: np.ndarray, ndim: int, channels: int | None = None, what: str = "") -> None:
    """Raise a ValueError naming the layer when ``x`` has the wrong rank or channel count."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{layer!r}: input must be a numpy array, got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{layer!r}: input must be float32 or float64, got dtype {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{layer!r}: input must be {what or f'{ndim}-D'}, got shape {x.shape}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{layer!r}: input has {x.shape[1]} channels (shape {x.shape}), expected {channels}")
