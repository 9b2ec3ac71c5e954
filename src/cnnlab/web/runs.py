"""Trained runs as the visualiser's networks: what the page can show, a loaded model's web model file, the checked export.

The file format itself is :mod:`cnnlab.web.bundle`; this module connects it to run folders and model
handles (anything with ``net``, ``classes``, ``mean``, ``std`` and ``config``, like ``cnnlab.load``'s),
for ``cnnlab web build``, ``cnnlab serve`` and ``cnnlab export RUN_DIR --format web``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from cnnlab.web.bundle import LAYER_TYPES, decode, encode, layer_json

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


def write_checked(model, path: str | Path, run_dir: str | Path, inputs):
    """Write ``model`` as a web model file at ``path`` and return the logits the file's weights give on ``inputs``.

    What ``cnnlab export RUN_DIR --format web`` runs: the file is read back with :func:`decode`, its
    weights are loaded into a fresh engine network and ``inputs`` (raw, ``(N, *input_shape)``) are
    normalised and run through it, so that the caller can compare with the original model.

    Raises:
        ValueError: when the page cannot show the network (:func:`page_problem`).
    """
    import torch

    from cnnlab import engine

    net = model.net
    problem = page_problem(list(net.input_shape), [layer_json(info.layer) for info in net.infos])
    if problem:
        raise ValueError(f"{run_dir}: the visualiser cannot show this network: {problem}")
    name = Path(run_dir).resolve().name
    data = from_model(model, name, title=model.config.get("title", name), provenance=provenance(model.config, run_dir))
    Path(path).write_bytes(data)
    loaded = decode(Path(path).read_bytes())
    header = loaded.header
    check = engine.build(header["spec"], tuple(header["input_shape"]))
    state = {k: torch.from_numpy(v.copy()) for k, v in loaded.tensors.items()}
    check.load_state_dict(state, strict=False)
    check.eval()
    view = (1, -1) + (1,) * (len(header["input_shape"]) - 1)
    mean = torch.tensor(header["mean"], dtype=torch.float32).view(view)
    std = torch.tensor(header["std"], dtype=torch.float32).view(view)
    with torch.inference_mode():
        return check.logits_model()((inputs - mean) / std)
