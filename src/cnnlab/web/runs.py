"""Trained runs as the visualiser's networks: what the page can show, a loaded model's web model file, the checked export.

The file format itself is :mod:`cnnlab.web.bundle`; this module connects it to run folders and model
handles (anything with ``net``, ``classes``, ``mean``, ``std`` and ``config``, like ``cnnlab.load``'s),
for ``cnnlab web build``, ``cnnlab serve`` and ``cnnlab export RUN_DIR --format web``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cnnlab.web.bundle import LAYER_TYPES, decode, encode, layer_json

if TYPE_CHECKING:  # the model module imports torch; the docs build reads this one without it
    from cnnlab.model import Model

#: What the drawing page shows: one grey channel, 2-D, at most this many pixels per side.
MAX_SIDE = 64


def page_problem(input_shape: Sequence[int], layers: Sequence[dict]) -> str | None:
    """Why the page cannot show a network (None when it can): 2-D, one channel, at most 64x64, known layers.

    Example:
        >>> page_problem([1, 40], [])
        'a 1-D network (input 1x40) cannot be drawn on: the page shows 2-D image networks (C x H x W)'
        >>> page_problem([3, 32, 32], [])
        'the input has 3 channels (3x32x32): the drawing pad makes one grey channel'
    """
    shape = "x".join(str(v) for v in input_shape)
    if len(input_shape) == 2:
        return f"a 1-D network (input {shape}) cannot be drawn on: the page shows 2-D image networks (C x H x W)"
    if len(input_shape) != 3:
        return f"the input shape {shape} is not C x H x W"
    if input_shape[0] != 1:
        return f"the input has {input_shape[0]} channels ({shape}): the drawing pad makes one grey channel"
    if max(input_shape[1:]) > MAX_SIDE:
        return f"the input is {shape}, larger than the page's limit of {MAX_SIDE}x{MAX_SIDE} pixels"
    for i, layer in enumerate(layers):
        if layer.get("type") not in LAYER_TYPES:
            return f"layer {i} ({layer.get('text', layer.get('type'))}) is not supported by the page"
    return None


def from_model(model, name: str, title: str | None = None, provenance: Mapping | None = None, dtype="auto") -> bytes:
    """:func:`encode` for a loaded model handle (anything with ``net``, ``classes``, ``mean``, ``std``).

    Example:
        >>> from cnnlab.web.models import DEFAULT_RUNS
        >>> import cnnlab
        >>> from cnnlab.web.bundle import decode
        >>> data = from_model(cnnlab.load(DEFAULT_RUNS["cnn"]), "cnn")
        >>> len(data) < 130_000, decode(data).tensors["0.weight"].shape   # float16: 2 bytes per weight
        (True, (6, 1, 5, 5))
    """
    net = model.net
    return encode(
        spec=net.spec_text,
        input_shape=net.input_shape,
        classes=model.classes,
        mean=model.mean,
        std=model.std,
        state_dict=net.state_dict(),
        name=name,
        title=title,
        provenance=provenance,
        dtype=dtype,
    )


def provenance(config: Mapping, run_dir: str | Path | None = None) -> dict:
    """The facts about a run the page prints under a network: dataset, test accuracy, epochs, who and when.

    ``test_accuracy`` comes from ``config.json`` or, for runs of ``cnnlab train``, ``results.json``.
    """
    facts = {k: config[k] for k in ("dataset", "test_accuracy", "epochs", "trained_by", "date") if k in config}
    results = Path(run_dir) / "results.json" if run_dir is not None else None
    if "test_accuracy" not in facts and results is not None and results.is_file():
        try:
            final = json.loads(results.read_text())
        except (OSError, json.JSONDecodeError):
            final = None
        if isinstance(final, dict) and isinstance(final.get("test_accuracy"), (int, float)):
            facts["test_accuracy"] = final["test_accuracy"]
    return facts


TOLERANCE = 1e-4  # the rule of cnnlab.export: |file - PyTorch| <= 1e-4 x max(1, max |logit|)


def load_run(run_dir: str | Path):
    """A run folder as a model handle (``cnnlab.load``): the one place this part of the package loads runs."""
    from cnnlab.model import Model

    return Model.from_run(run_dir)


def load_runs(run_dirs: Sequence[str | Path]) -> dict[str, tuple[Model, Path]]:
    """User run folders as (model, folder) for the page, named after their folders (made unique with a suffix).

    Raises:
        ValueError: naming the run when the page cannot show its network (1-D, several channels,
            larger than 64x64; :func:`cnnlab.web.runs.page_problem`).
    """
    models: dict = {}
    for run_dir in run_dirs:
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise FileNotFoundError(f"--run {str(run_dir)!r}: no such run folder")
        model = load_run(run_dir)
        layers = [layer_json(info.layer) for info in model.net.infos]
        problem = page_problem(list(model.net.input_shape), layers)
        if problem:
            raise ValueError(f"--run {str(run_dir)!r}: the page cannot show this network: {problem}")
        base = run_dir.resolve().name
        name, k = base, 2
        while name in models:
            name, k = f"{base}-{k}", k + 1
        model.name = name  # what the API and the page call it
        models[name] = (model, run_dir)
    return models


@dataclass(frozen=True)
class WebExport:
    """What :func:`export_web` wrote and how well the file reproduces PyTorch (the fields of ``cnnlab.export.Exported``)."""

    path: Path
    max_abs_diff: float
    examples: int
    format: str = "web"

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "format": self.format,
            "max_abs_diff": self.max_abs_diff,
            "examples": self.examples,
        }


def export_web(run_dir: str | Path, out: str | Path | None = None, inputs=None) -> WebExport:
    """Write a run as one web model file (``cnnlab export RUN_DIR --format web``), checked against PyTorch.

    The file is read back with :func:`cnnlab.web.bundle.decode`, its weights go into a fresh engine
    network, and its logits on ``inputs`` must match the run's to 1e-4 x max(1, max |logit|) (the
    rule of :mod:`cnnlab.export`); otherwise nothing is written.

    Args:
        run_dir: a run folder written by ``cnnlab train``.
        out: the file to write (default ``RUN_DIR/model.cnnlab``).
        inputs: raw inputs ``(N, *input_shape)`` for the check; default 16 uniform random inputs in [0, 1] (seeded).

    Raises:
        ValueError: when the page cannot show the network (:func:`page_problem`), or the check fails.

    Example:
        >>> import tempfile
        >>> from cnnlab.train import TrainConfig, fit
        >>> run = tempfile.mkdtemp()
        >>> _ = fit(TrainConfig(model="conv(4,3,p=1,mode=circular)-bn-relu-gap-linear", dataset="digits", epochs=1), out=run)
        >>> result = export_web(run)
        >>> result.path.name, result.max_abs_diff
        ('model.cnnlab', 0.0)
    """
    import torch

    from cnnlab import engine
    from cnnlab.io import atomic_write

    model = load_run(run_dir)
    net = model.net
    problem = page_problem(list(net.input_shape), [layer_json(info.layer) for info in net.infos])
    if problem:
        raise ValueError(f"{run_dir}: the visualiser cannot show this network: {problem}")
    shape = tuple(net.input_shape)
    if inputs is None:
        inputs = torch.rand(16, *shape, generator=torch.Generator().manual_seed(0))
    inputs = torch.as_tensor(inputs, dtype=torch.float32)
    name = Path(run_dir).resolve().name
    data = from_model(model, name, title=model.config.get("title", name), provenance=provenance(model.config, run_dir))
    decoded = decode(data)
    check = engine.build(decoded.header["spec"], shape).eval()
    check.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in decoded.tensors.items()}, strict=False)

    def logits(network, mean, std):
        view = (1, -1) + (1,) * (len(shape) - 1)
        x = (inputs - torch.tensor(mean, dtype=torch.float32).view(view)) / torch.tensor(std, dtype=torch.float32).view(
            view
        )
        with torch.inference_mode():
            return network.logits_model()(x)

    expected = logits(net, model.mean, model.std)
    diff = (logits(check, decoded.header["mean"], decoded.header["std"]) - expected).abs().max().item()
    if not diff <= TOLERANCE * max(1.0, expected.abs().max().item()):
        raise ValueError(f"web export of {run_dir} differs from PyTorch by {diff:.3g}; nothing written")
    path = Path(out) if out is not None else Path(run_dir) / "model.cnnlab"
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
    return WebExport(path, diff, len(inputs))
