"""The networks the visualiser shows, described as JSON for the page.

The models are :class:`cnnlab.model.Model` handles: the two shipped with the package
(``assets/web-mlp`` and ``assets/web-cnn``, :meth:`~cnnlab.model.Model.from_assets`) or run folders
given with ``cnnlab serve --run`` (:meth:`~cnnlab.model.Model.from_run`). :func:`describe` and
:func:`unit_weights` turn one into what the page draws.

Example:
    >>> models = default_models()
    >>> sorted(models), models["cnn"].input_shape
    (['cnn', 'mlp'], (1, 28, 28))
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from cnnlab import spec as S
from cnnlab.model import SHIPPED, Model
from cnnlab.web.runs import load_runs

#: The shipped run folders by API name (``mlp``, ``cnn``).
DEFAULT_RUNS = SHIPPED


def default_models() -> dict[str, Model]:
    """The two MNIST networks shipped with the package: ``mlp`` (784-300-100-10) and ``cnn`` (LeNet-like)."""
    return {name: Model.from_assets(name) for name in DEFAULT_RUNS}


def models_from_runs(run_dirs: Sequence[str | Path]) -> dict[str, Model]:
    """Load user run folders for ``cnnlab serve``; names are folder names, made unique with a suffix.

    The rule is the static site's (:func:`cnnlab.web.runs.load_runs`): any 2-D image network with
    one input channel up to 64x64 and layers the page implements; the page and the API resize the
    28x28 drawing to the network's input (:func:`cnnlab.web.digit.fit_frame`).

    Raises:
        ValueError: naming the run when the page cannot show its network (1-D, several channels,
            larger than 64x64, an unsupported layer).
        FileNotFoundError: for a folder that does not exist.
    """
    return {name: model for name, (model, _) in load_runs(run_dirs).items()}


def describe(model: Model) -> dict:
    """JSON description of a model for the front end: every layer's kind, shapes and window.

    Conv and pool layers carry ``kernel_size``, ``stride`` and ``padding`` (what the page needs to
    trace a unit's inputs back layer by layer) and the :class:`cnnlab.shapes.ReceptiveField` of one
    of their units.

    Example:
        >>> d = describe(Model.from_assets("cnn"))
        >>> d["layers"][0]["kind"], d["layers"][0]["out_shape"], d["layers"][0]["receptive_field"]["size"]
        ('conv', [6, 28, 28], [5, 5])
    """
    layers = []
    for info in model.net.infos:
        row = {
            "index": info.index,
            "kind": info.layer.keyword,
            "text": info.name,
            "in_shape": list(info.in_shape),
            "out_shape": list(info.out_shape),
            "params": info.params,
        }
        window = info.layer.window
        if window is not None:
            row.update(window._asdict())  # kernel_size, stride, padding: what the page traces back
        if isinstance(info.layer, S.Conv):
            row.update(locally_connected=info.locally_connected, dense=info.dense)
        if info.receptive_field is not None:
            rf = info.receptive_field
            row["receptive_field"] = {"size": list(rf.size), "jump": list(rf.jump), "start": list(rf.start)}
        layers.append(row)
    provenance = {
        k: model.config[k] for k in ("dataset", "test_accuracy", "epochs", "trained_by", "date") if k in model.config
    }
    results = model.run_dir / "results.json" if model.run_dir else None
    if "test_accuracy" not in provenance and results is not None and results.is_file():
        # cnnlab train writes the final test evaluation next to the config.
        final = json.loads(results.read_text())
        if isinstance(final, dict) and isinstance(final.get("test_accuracy"), (int, float)):
            provenance["test_accuracy"] = final["test_accuracy"]
    return {
        "name": model.name,
        "title": model.config.get("title", model.name),
        "spec": model.spec,
        "input_shape": list(model.input_shape),
        "classes": model.classes,
        "mean": model.mean,
        "std": model.std,
        "num_params": model.net.num_params,
        "provenance": provenance,
        "layers": layers,
    }


def unit_weights(model: Model, layer: int, unit: int | None) -> dict:
    """Weights and bias of one unit (a dense neuron or a conv filter), or of a whole conv layer.

    A dense layer's row is reshaped to the shape of the layer before ``flatten`` (a 784-row of the
    first MLP layer is returned as 1x28x28, a template one can look at).

    Raises:
        ValueError: for a layer without weights, a unit out of range, or a dense layer asked whole.
    """
    layers = model.net.layers
    if not 0 <= layer < len(layers):
        raise ValueError(f"layer must be in [0, {len(layers) - 1}] for model {model.name!r}, got {layer}")
    spec = layers[layer]
    if not isinstance(spec, (S.Conv, S.Linear)):
        raise ValueError(
            f"layer {layer} ({spec.to_text()}) of model {model.name!r} has no weights; choose a conv or linear layer"
        )
    module = model.net[layer]
    assert isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear))  # as the spec says
    weight = module.weight.detach()
    bias = module.bias.detach() if module.bias is not None else torch.zeros(weight.shape[0])
    if unit is None:
        if isinstance(spec, S.Linear):
            raise ValueError(f"layer {layer} is dense ({weight.shape[0]}x{weight.shape[1]} weights); ask for one unit")
        return {"layer": layer, "weight": weight.tolist(), "bias": bias.tolist()}
    if not 0 <= unit < weight.shape[0]:
        raise ValueError(f"unit must be in [0, {weight.shape[0] - 1}] for layer {layer}, got {unit}")
    row = weight[unit]
    if isinstance(spec, S.Linear):
        # The shape the layer's input had before it was flattened: walk back over elementwise layers.
        shape = model.net.infos[layer].in_shape
        for info in reversed(model.net.infos[:layer]):
            if isinstance(info.layer, S.Flatten):
                shape = info.in_shape
                break
            if len(info.out_shape) > 1 or isinstance(info.layer, (S.Linear, S.GlobalAvgPool)):
                break
        row = row.reshape(shape)
    return {"layer": layer, "unit": unit, "weight": row.tolist(), "bias": float(bias[unit])}
