"""What a number was measured on: the ``system`` block of run folders, experiment results and benchmark JSON.

A time or an accuracy means little without its hardware and software: every run folder
(``config.json`` and ``results.json``), every experiment's ``result.json`` and every benchmark's
``--json`` output carries :func:`system_info`.

Example:
    >>> info = system_info(torch.device("cpu"))
    >>> info["device"], info["compute_capability"], info["amp"], info["threads"] >= 1
    ('cpu', None, 'off', True)
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from cnnlab._version import __version__


def resolved(device: torch.device) -> torch.device:
    """``cuda`` with its index filled in (the GPU that ``cuda`` means in this process); others unchanged."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def cpu_name() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def system_info(
    device: torch.device,
    amp: str = "off",
    deterministic: bool | None = None,
    data_device: torch.device | None = None,
    world_size: int = 1,
    backend: str | None = None,
) -> dict:
    """The hardware and software a result comes from, as one JSON-ready dict.

    Args:
        device: where the computation ran (``cuda`` is resolved to ``cuda:INDEX``).
        amp: the mixed-precision mode actually used (``off``, ``bf16``, ``fp16``).
        deterministic: whether deterministic algorithms were asked for (None: not applicable).
        data_device: where the training data lived (None: not applicable).
        world_size: processes in the job (data-parallel training).
        backend: the job's process-group backend (``nccl``, ``gloo``), None without one.

    Returns:
        ``device``, ``device_name`` (GPU or CPU model), ``compute_capability`` (``"8.0"``; None on
        a CPU), ``amp``, ``dtype`` (of the weights), ``deterministic``, ``data_device``,
        ``world_size``, ``backend``, ``threads`` (torch's CPU threads), ``torch``, ``cuda`` and ``cudnn``
        versions (None in a CPU build), ``python``, ``platform`` and ``cnnlab`` versions.
    """
    device = resolved(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        capability = "{}.{}".format(*torch.cuda.get_device_capability(device))
    else:
        name, capability = cpu_name(), None
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "device": str(device),
        "device_name": name,
        "compute_capability": capability,
        "amp": amp,
        "dtype": str(torch.get_default_dtype()).removeprefix("torch."),
        "deterministic": deterministic,
        "data_device": str(resolved(data_device)) if data_device is not None else None,
        "world_size": world_size,
        "backend": backend,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cnnlab": __version__,
    }
