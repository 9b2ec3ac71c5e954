"""Where training runs and how: device selection, mixed precision (AMP), determinism, where the data lives, inputs on the model's device.

Mixed precision with ``amp="auto"`` (the decision table, tested with mocked GPUs):

| device | autocast dtype |
|---|---|
| CUDA, compute capability >= 8.0 (A100, H100, L4, RTX 30xx/40xx): native bfloat16 | bfloat16 (float32's range: no loss scaling) |
| CUDA, older (T4, V100, P100, GTX 16xx) | float16 with a gradient scaler |
| CPU | off (float32) |

``torch.cuda.is_bf16_supported()`` alone answers True on a T4 or V100 too, because bfloat16 can be
*emulated* there (slowly, without tensor cores); the table asks for native support only.

Example:
    >>> pick_device("cpu")
    device(type='cpu')
    >>> amp_name(amp_dtype("auto", torch.device("cpu")))
    'off'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

#: The cuBLAS workspace setting under which cuBLAS gives the same result run after run (NVIDIA's
#: cuBLAS documentation, "Results reproducibility"; PyTorch refuses deterministic mode without it).
CUBLAS_DETERMINISTIC = ":4096:8"
#: Share of the GPU's free memory the training data may take (the rest: model, activations, allocator).
DATA_SHARE = 0.5


def pick_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device must be cpu or auto on this machine: --device cuda given but no CUDA GPU is available")
    return torch.device("cuda" if name in ("auto", "cuda") and torch.cuda.is_available() else "cpu")


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` (see the table above), or None for full float32.

    Example:
        >>> amp_dtype("auto", torch.device("cpu")) is None  # on CPU, mixed precision only when asked
        True
        >>> amp_dtype("bf16", torch.device("cpu"))
        torch.bfloat16
    """
    if amp == "auto":
        if device.type != "cuda":
            return None
        # Native bfloat16 only: emulated bfloat16 (T4, V100) is slower than float16 with loss scaling.
        return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    return {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def amp_name(dtype: torch.dtype | None) -> str:
    """``off``, ``bf16`` or ``fp16``: how run records name an autocast dtype."""
    return {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def require_deterministic_cublas(device: torch.device) -> None:
    """Make sure cuBLAS runs in its reproducible mode on ``device`` (nothing to do on a CPU).

    cuBLAS reads ``CUBLAS_WORKSPACE_CONFIG`` once per process, when CUDA starts working; it is set
    here when it is not yet, which must happen before the first CUDA operation of the process.

    Raises:
        ValueError: CUDA is already in use in this process without the setting (it would be ignored).
    """
    if device.type != "cuda" or os.environ.get("CUBLAS_WORKSPACE_CONFIG") in (CUBLAS_DETERMINISTIC, ":16:8"):
        return
    if torch.cuda.is_initialized():
        raise ValueError(
            "deterministic=True needs CUBLAS_WORKSPACE_CONFIG=:4096:8 before CUDA starts, but this process "
            "already uses CUDA; set it in the environment (export CUBLAS_WORKSPACE_CONFIG=:4096:8) or train "
            "with --deterministic in a new process"
        )
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_DETERMINISTIC


@contextmanager
def deterministic_algorithms(enabled: bool) -> Iterator[None]:
    """Within the block, deterministic kernels only (cuDNN and cuBLAS included); restored afterwards.

    ``enabled=False`` changes nothing (PyTorch's defaults: cuDNN may pick nondeterministic
    convolution algorithms on a GPU). On a CPU, cnnlab's training is deterministic either way.

    Example:
        >>> with deterministic_algorithms(True):
        ...     torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic
        (True, True)
        >>> torch.are_deterministic_algorithms_enabled()
        False
    """
    if not enabled:
        yield
        return
    cudnn = torch.backends.cudnn
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn.deterministic,
        cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(True)
    # Benchmark mode times several convolution algorithms and keeps the fastest: a choice that may differ per run.
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        cudnn.deterministic, cudnn.benchmark = saved[2], saved[3]


def data_fits(nbytes: int, device: torch.device, share: float = DATA_SHARE) -> bool:
    """Whether ``nbytes`` of training data can live on ``device`` (a GPU), estimated before allocating.

    True when they take at most ``share`` of the GPU's free memory; always False for a CPU (the
    data is there already). MNIST as float32 (60,000 + 10,000 images) is 0.22 GB.

    Example:
        >>> data_fits(10**6, torch.device("cpu"))
        False
    """
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= share * free


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
