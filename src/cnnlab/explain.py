"""The lecture's worked examples, step by step, as data (``cnnlab explain`` prints them).

Example:
    The lecture's 1-D example: W = 5, F = 3, S = 1, P = 1, w = [1, -1, 1], b = -2.

    >>> ex = conv1d_steps([1, 2, 2, -1, 3], [1, -1, 1], bias=-2, padding=1)
    >>> ex["padded"], ex["dots"], ex["pre_activations"], ex["outputs"]
    ([0.0, 1.0, 2.0, 2.0, -1.0, 3.0, 0.0], [1.0, 1.0, -1.0, 6.0, -4.0], [-1.0, -1.0, -3.0, 4.0, -6.0], [0.0, 0.0, 0.0, 4.0, 0.0])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from cnnlab.shapes import conv_output_size, conv_param_counts

#: The widest padded input :func:`conv1d_steps` writes out step by step (every window is a line of output).
MAX_WIDTH = 1000

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


def _pad(x: np.ndarray, padding: int, mode: str) -> np.ndarray:
    numpy_mode = {"zeros": "constant", "circular": "wrap", "reflect": "reflect"}
    if mode not in numpy_mode:
        raise ValueError(f"padding_mode must be one of zeros, circular, reflect, got {mode!r}")
    return np.pad(x, padding, mode=numpy_mode[mode])  # type: ignore[call-overload]  # mode is one of three literals


def _finite_list(values, name: str) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a list of numbers, got {values!r:.80}") from None
    if a.ndim != 1 or not len(a) or len(a) > MAX_WIDTH:
        raise ValueError(f"{name} must be a list of 1 to {MAX_WIDTH} numbers, got {np.size(a)} values")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must hold finite numbers, got {values!r:.80}")
    return a


def conv1d_steps(
    x: Sequence[float],
    weight: Sequence[float],
    bias: float = 0.0,
    stride: int = 1,
    padding: int = 0,
    padding_mode: str = "zeros",
    activation: str = "relu",
) -> dict:
    """One-channel 1-D convolution, every intermediate value (padded input, windows, dots, ...).

    Args:
        x: the input neurons (width W).
        weight: the filter (width F).
        bias: added to every dot product.
        stride, padding, padding_mode: S, P and how the padding is filled.
        activation: ``relu`` (unit slope), ``identity``, ``tanh`` or ``sigmoid``.

    Raises:
        ValueError: a non-finite value, a padded input wider than :data:`MAX_WIDTH`, a filter that
            does not tile the input, or results that overflow (never infinity or NaN in the output).
    """
    xs, w = _finite_list(x, "input"), _finite_list(weight, "weight")
    if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not math.isfinite(bias):
        raise ValueError(f"bias must be a finite number, got {bias!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    width = conv_output_size(len(xs), len(w), stride, padding)
    if len(xs) + 2 * padding > MAX_WIDTH:
        raise ValueError(
            f"the padded input W + 2P = {len(xs)} + 2*{padding} = {len(xs) + 2 * padding} must be at most "
            f"{MAX_WIDTH} neurons (every step is printed); use a smaller padding"
        )
    padded = _pad(xs, padding, padding_mode)
    windows = np.lib.stride_tricks.sliding_window_view(padded, len(w))[::stride][:width]
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below, with the numbers
        dots = windows @ w
        pre = dots + bias
        outputs = ACTIVATIONS[activation](pre)
    if not (np.isfinite(pre).all() and np.isfinite(outputs).all()):
        raise ValueError(
            "the dot products overflow (values near 1e308 multiplied together are not finite numbers); use smaller values"
        )
    return {
        "input": xs.tolist(),
        "weight": w.tolist(),
        "bias": float(bias),
        "stride": stride,
        "padding": padding,
        "padding_mode": padding_mode,
        "activation": activation,
        "output_width": width,
        "padded": padded.tolist(),
        "windows": windows.tolist(),
        "dots": dots.tolist(),
        "pre_activations": pre.tolist(),
        "outputs": outputs.tolist(),
    }


def conv2d_accounting(
    in_shape: Sequence[int] = (3, 6, 6), out_channels: int = 2, kernel_size: int = 3, stride: int = 1, padding: int = 0
) -> dict:
    """Shapes and parameter accounting of a 2-D conv layer (default: the lecture's 6x6x3 example).

    Example:
        >>> a = conv2d_accounting()
        >>> a["output_shape"], a["conv"], a["locally_connected_weights"], a["dense"], a["tied_reduction"]
        ([2, 4, 4], 56, 864, 3488, 16.0)
    """
    c, h, w = in_shape
    counts = conv_param_counts((c, h, w), out_channels, kernel_size, stride, padding)
    n_out = math.prod(counts.out_shape)
    return {
        "input_shape": [c, h, w],
        "out_channels": out_channels,
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "output_shape": list(counts.out_shape),
        "filter_shape": [c, kernel_size, kernel_size],
        "weights_per_filter": counts.filter_size,
        "conv": counts.conv,
        "conv_formula": f"{out_channels} x ({counts.filter_size} + 1)",
        "locally_connected": counts.locally_connected,
        "locally_connected_weights": counts.locally_connected_weights,
        "locally_connected_formula": f"{counts.positions} positions x {out_channels} filters x {counts.filter_size} weights + {n_out} biases",
        "dense": counts.dense,
        "dense_formula": f"{c * h * w} inputs x {n_out} outputs + {n_out} biases",
        # What tying saves in weights (biases aside): one filter per position vs one in all.
        "tied_reduction": float(counts.positions),
    }


def maxpool2d_steps(
    x: Sequence[Sequence[float]] | None = None, kernel_size: int = 2, stride: int | None = None
) -> dict:
    """2-D max pooling of one channel: each window and the value it keeps.

    Example:
        >>> p = maxpool2d_steps([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [2, 6, 1, 1]])
        >>> p["output"]
        [[4.0, 5.0], [6.0, 3.0]]
    """
    if x is None:
        x = [
            [1, 3, 2, 0, 1, 2],
            [4, 2, 1, 5, 0, 3],
            [0, 1, 3, 2, 4, 1],
            [2, 6, 1, 1, 0, 2],
            [5, 0, 2, 3, 1, 1],
            [1, 2, 4, 0, 2, 6],
        ]
    grid = np.asarray(x, dtype=float)
    if grid.ndim != 2:
        raise ValueError(f"input must be a 2-D grid of numbers, got shape {grid.shape}")
    stride = kernel_size if stride is None else stride
    out_h = conv_output_size(grid.shape[0], kernel_size, stride)
    out_w = conv_output_size(grid.shape[1], kernel_size, stride)
    windows = np.lib.stride_tricks.sliding_window_view(grid, (kernel_size, kernel_size))[::stride, ::stride][
        :out_h, :out_w
    ]
    return {
        "input": grid.tolist(),
        "kernel_size": kernel_size,
        "stride": stride,
        "output_shape": [out_h, out_w],
        "windows": windows.tolist(),
        "output": windows.max(axis=(-1, -2)).tolist(),
    }
