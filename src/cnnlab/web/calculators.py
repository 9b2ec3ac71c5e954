"""The page's two calculators as JSON: one conv layer's shapes and parameters, and a 1-D convolution step by step.

``POST /api/shape`` answers :func:`shape_report` and ``POST /api/conv1d`` :func:`conv1d_report`; both
check every field by type and range before any work (422 naming the field), and both do work bounded
by those ranges.
"""

from __future__ import annotations

from typing import Any

from cnnlab.explain import conv1d_steps
from cnnlab.shapes import conv_output_size, conv_param_counts, output_size_formula
from cnnlab.web.parsing import ApiError, integer, number, numbers

__all__ = ["CONV1D_MAX", "conv1d_report", "shape_report"]

CONV1D_MAX = 64  # the page's 1-D convolution: at most 64 inputs, taps, stride and padding (a screenful of steps)


def conv1d_report(body: dict) -> dict:
    """Every step of a 1-D convolution (:func:`cnnlab.explain.conv1d_steps`), the lecture's example by default.

    Each field is checked by type and range first (422 naming it): ``x`` and ``weight`` 1 to 64
    numbers, ``stride`` and ``padding`` in [1, 64] and [0, 64], ``bias`` finite.

    Example:
        >>> conv1d_report({})["outputs"]
        [0.0, 0.0, 0.0, 4.0, 0.0]
        >>> conv1d_report({"padding": 10**6})
        Traceback (most recent call last):
        ...
        cnnlab.web.parsing.ApiError: padding must be an integer in [0, 64], got 1000000
    """
    allowed = {"x", "weight", "bias", "stride", "padding", "activation"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(422, f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}")
    args: dict[str, Any] = {
        "x": numbers(body, "x", CONV1D_MAX, 1e6, default=[1, 2, 2, -1, 3]),
        "weight": numbers(body, "weight", CONV1D_MAX, 1e6, default=[1, -1, 1]),
        "bias": number(body, "bias", -1e6, 1e6, default=-2),
        "stride": integer(body, "stride", 1, CONV1D_MAX, default=1),
        "padding": integer(body, "padding", 0, CONV1D_MAX, default=1),
    }
    if "activation" in body:
        args["activation"] = body["activation"]
    try:
        return conv1d_steps(**args)
    except (ValueError, TypeError) as err:
        raise ApiError(422, str(err)) from None


def shape_report(body: dict) -> dict:
    """Output size and parameter counts of one conv layer, via :mod:`cnnlab.shapes` (422 on a bad layer).

    Example:
        >>> r = shape_report({"size": [6, 6], "kernel_size": 3, "in_channels": 3, "out_channels": 2})
        >>> r["out_shape"], r["params"]["conv"], r["params"]["locally_connected"], r["params"]["dense"]
        ([2, 4, 4], 56, 896, 3488)
    """
    unknown = sorted(set(body) - {"size", "kernel_size", "stride", "padding", "in_channels", "out_channels"})
    if unknown:
        raise ApiError(
            422,
            f"unknown field(s) {', '.join(unknown)}; expected size, kernel_size, stride, padding, in_channels, out_channels",
        )
    if "size" not in body or "kernel_size" not in body:
        raise ApiError(422, "size (W, or [H, W]) and kernel_size (F) are required")
    size = body["size"] if isinstance(body["size"], list) else [body["size"]]
    kernel, stride, padding = body["kernel_size"], body.get("stride", 1), body.get("padding", 0)
    in_channels, out_channels = body.get("in_channels", 1), body.get("out_channels", 1)
    if not 1 <= len(size) <= 2:
        raise ApiError(422, f"size must be W or [H, W], got {body['size']!r}")
    try:
        out = [conv_output_size(n, kernel, stride, padding) for n in size]
        counts = conv_param_counts((in_channels, *size), out_channels, kernel, stride, padding)
    except (ValueError, TypeError) as err:
        raise ApiError(422, str(err)) from None
    letters = "HW"[-len(size) :]
    formulas = [f"{a}_out = {output_size_formula(n, kernel, stride, padding, letter=a)}" for a, n in zip(letters, size)]
    return {
        "output_size": out,
        "out_shape": [out_channels, *out],
        "formula": formulas,
        "params": {
            "conv": counts.conv,
            "locally_connected": counts.locally_connected,
            "dense": counts.dense,
            "positions": counts.positions,
            "tied_reduction": counts.tied_reduction,
            "dense_reduction": counts.dense_reduction,
        },
    }
