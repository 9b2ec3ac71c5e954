"""Export a trained run to a file other programs can run: ONNX or TorchScript, checked against PyTorch.

The exported model takes *raw* inputs ``(N, *input_shape)`` (images in [0, 1], as the dataset gives
them): the run's normalisation is built in, so the file needs nothing from cnnlab. It returns logits
``(N, num_classes)`` (apply a softmax for probabilities); the batch size is free. The class names,
the spec and the input shape travel inside the file (ONNX metadata ``cnnlab``; TorchScript extra file
``cnnlab.json``).

Every export is checked before it is kept: the file is loaded back (ONNX with onnxruntime,
TorchScript with ``torch.jit.load``) and run on a batch whose size differs from the one used for
export; the largest difference from ``cnnlab.load(run_dir)``'s logits must be below
``1e-4 * max(1, max |logits|)``, else nothing is written.

Example:
    >>> import tempfile
    >>> from cnnlab.train import TrainConfig, fit
    >>> run = tempfile.mkdtemp()
    >>> _ = fit(TrainConfig(model="logreg", dataset="digits", epochs=1, lr=0.05), out=run)
    >>> result = export(run, "torchscript")
    >>> result.path.name, result.max_abs_diff < 1e-4
    ('model.torchscript.pt', True)
    >>> export(run, "tflite")
    Traceback (most recent call last):
    ...
    ValueError: format must be one of onnx, torchscript, got 'tflite'
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.io import atomic_write
from cnnlab.model import Model
from cnnlab.train.device import to_device_of

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
ONNX_OPSET = 17  # supported by every onnxruntime since 1.11 and by most other ONNX runtimes
TOLERANCE = 1e-4


class ExportCheckError(RuntimeError):
    """The exported file does not reproduce PyTorch's outputs (the file is not kept)."""


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote and how well it matched PyTorch.

    Attributes:
        path: the model file.
        format: ``onnx`` or ``torchscript``.
        max_abs_diff: largest |exported - PyTorch| over the check batch's logits.
        examples: size of the check batch.
    """

    path: Path
    format: str
    max_abs_diff: float
    examples: int

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "format": self.format,
            "max_abs_diff": self.max_abs_diff,
            "examples": self.examples,
        }


class Deployed(nn.Module):
    """Raw input -> logits: the run's normalisation, then the network without a final softmax.

    Shape:
        input: ``(N, *input_shape)``; output: ``(N, num_classes)``.
    """

    mean: torch.Tensor  # buffers, registered in __init__
    std: torch.Tensor

    def __init__(self, model: Model):
        super().__init__()
        view = (1, -1) + (1,) * (len(model.input_shape) - 1)  # broadcast over (N, C, ...)
        self.register_buffer("mean", torch.tensor(model.mean, dtype=torch.float32).view(view))
        self.register_buffer("std", torch.tensor(model.std, dtype=torch.float32).view(view))
        # The layers themselves, not the Network: its Python-side shape check has no place in a graph.
        self.layers = nn.Sequential(*model.net.logits_model().children())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers((x - self.mean) / self.std)


def export(
    run_dir: str | Path, format: str = "onnx", out: str | Path | None = None, inputs: torch.Tensor | None = None
) -> Exported:
    """Write the run's model as ``format`` and check it against PyTorch.

    Args:
        run_dir: a run folder written by ``cnnlab train``.
        format: ``onnx`` (needs ``onnx`` and ``onnxruntime``) or ``torchscript``.
        out: the file to write (default ``RUN_DIR/model.onnx`` or ``RUN_DIR/model.torchscript.pt``).
        inputs: raw inputs ``(N, *input_shape)`` for the check, e.g. a test batch, on any device
            (they follow the exported module to the CPU); default 16 uniform random inputs in [0, 1] (seeded).

    Returns:
        :class:`Exported` with the path and the check's largest difference.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if format == "onnx":
        _require_onnx()
    model = Model.from_run(run_dir)
    deployed = Deployed(model).eval()
    shape = model.input_shape
    if inputs is None:
        inputs = torch.rand(16, *shape, generator=torch.Generator().manual_seed(0))
    inputs = torch.as_tensor(inputs, dtype=torch.float32)
    if inputs.dim() != len(shape) + 1 or tuple(inputs.shape[1:]) != shape or len(inputs) < 2:
        raise ValueError(
            f"inputs must have shape (N, {', '.join(map(str, shape))}) with N >= 2, got {tuple(inputs.shape)}"
        )
    # The file is written from, and checked against, the module on the CPU (the run's weights load
    # there): tracing, ONNX Runtime and the comparison all need the inputs beside it.
    inputs = to_device_of(deployed, inputs)
    with torch.inference_mode():
        expected = deployed(inputs)
    example = inputs[:1]  # export with batch 1, check with N: the batch dimension must really be free
    meta = json.dumps(
        {
            "classes": model.classes,
            "spec": model.config["spec"],
            "input_shape": list(shape),
            "output": "logits",
            "normalization": "built in",
        }
    )
    path = Path(out) if out is not None else Path(run_dir) / f"model{SUFFIXES[format]}"
    diffs = []

    def write(tmp: str) -> None:
        if format == "onnx":
            _write_onnx(deployed, example, tmp, meta)
            got = _run_onnx(tmp, inputs)
        else:
            _write_torchscript(deployed, example, tmp, meta)
            got = _run_torchscript(tmp, inputs)
        diff = (got - expected).abs().max().item()
        if not diff <= TOLERANCE * max(1.0, expected.abs().max().item()):
            raise ExportCheckError(
                f"{format} export of {run_dir} differs from PyTorch by {diff:.3g} on "
                f"{len(inputs)} inputs (tolerance {TOLERANCE:g} x max(1, max |logit|)); nothing written"
            )
        diffs.append(diff)

    atomic_write(path, write)
    return Exported(path, format, diffs[0], len(inputs))


def _require_onnx() -> None:
    for name in ("onnx", "onnxruntime"):
        try:
            __import__(name)
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                f"ONNX export needs the {name} package: pip install onnx onnxruntime (or pip install 'cnnlab[export]')",
                name=name,
            ) from None


def _write_onnx(module: nn.Module, example: torch.Tensor, path: str, meta: str) -> None:
    import onnx

    with warnings.catch_warnings():
        # torch >= 2.9 marks the TorchScript-based exporter deprecated; the newer one needs onnxscript
        # and takes seconds for what this one does in milliseconds, with the same graph for these layers.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            (example,),
            path,
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    proto = onnx.load(path)
    proto.metadata_props.add(key="cnnlab", value=meta)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)


def _run_onnx(path: str, inputs: torch.Tensor) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": inputs.numpy()})
    return torch.from_numpy(logits)


def _write_torchscript(module: nn.Module, example: torch.Tensor, path: str, meta: str) -> None:
    with warnings.catch_warnings():
        # torch >= 2.9 marks TorchScript deprecated; it is still the format C++ (libtorch) loads.
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(module, example, check_trace=False)
        torch.jit.save(traced, path, _extra_files={"cnnlab.json": meta})


def _run_torchscript(path: str, inputs: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = torch.jit.load(path)
    with torch.inference_mode():
        return loaded(inputs)
