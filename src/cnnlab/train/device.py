"""Where training runs and in which precision: device selection, mixed precision (AMP), inputs on the model's device.

Example:
    >>> pick_device("cpu")
    device(type='cpu')
"""

from __future__ import annotations

import torch


def pick_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device must be cpu or auto on this machine: --device cuda given but no CUDA GPU is available")
    return torch.device("cuda" if name in ("auto", "cuda") and torch.cuda.is_available() else "cpu")


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` (see :class:`TrainConfig`), or None for full float32.

    Example:
        >>> amp_dtype("auto", torch.device("cpu")) is None  # on CPU, mixed precision only when asked
        True
        >>> amp_dtype("bf16", torch.device("cpu"))
        torch.bfloat16
    """
    if amp == "auto":
        if device.type != "cuda":
            return None
        # bfloat16 keeps float32's range (no loss scaling); older GPUs only have fast float16.
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def module_device(module: torch.nn.Module) -> torch.device:
    """The device a module's parameters (or, without any, its buffers) live on; CPU for an empty module.

    Example:
        >>> module_device(torch.nn.Linear(2, 3)), module_device(torch.nn.ReLU())
        (device(type='cpu'), device(type='cpu'))
    """
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


def to_device_of(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` on ``module``'s device: inputs follow the model (the one rule every inference path uses).

    Example:
        >>> to_device_of(torch.nn.Linear(2, 3), torch.zeros(1, 2)).device
        device(type='cpu')
    """
    return x.to(module_device(module))
