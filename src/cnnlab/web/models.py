"""The networks the visualiser shows: run folders loaded into eval-mode engines, described as JSON.

A run folder (written by ``cnnlab train`` and by ``scripts/train_web_models.py``) holds
``config.json`` (``model`` spec text, ``input_shape``, ``classes``, ``normalize``, provenance) and
``model.safetensors`` (the engine's ``state_dict``; float16 storage is cast to float32 on load);
:func:`cnnlab.train.runs.load` reads it, the same loader as for every trained run.
The package ships two such folders, ``assets/web-mlp`` and ``assets/web-cnn``.

Example:
    >>> models = default_models()
    >>> sorted(models), models["cnn"].net.input_shape
    (['cnn', 'mlp'], (1, 28, 28))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from cnnlab import engine
from cnnlab import spec as S
from cnnlab.train.runs import load

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_RUNS = {"mlp": ASSETS / "web-mlp", "cnn": ASSETS / "web-cnn"}
# The drawing canvas produces one MNIST-style grey image; other inputs cannot be drawn.
WEB_INPUT_SHAPE = (1, 28, 28)


@dataclass
class WebModel:
    """A loaded network with what is needed to feed it a drawn digit.

    Attributes:
        name: the key used by the API (``"mlp"``, ``"cnn"`` or the run folder's name).
        net: the engine network, in eval mode, float32.
        config: the run's ``config.json`` as a dict (provenance included).
        mean, std: per-channel normalisation applied to a [0, 1] image before the forward pass.
        classes: a label per output.
    """

    name: str
    net: engine.Network
    config: dict
    mean: list[float]
    std: list[float]
    classes: list[str]
    run_dir: Path | None = None

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std`` per channel; ``image`` is ``(N, C, H, W)`` in [0, 1]."""
        mean = torch.tensor(self.mean, dtype=image.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=image.dtype).view(1, -1, 1, 1)
        return (image - mean) / std


def load_model(run_dir: str | Path, name: str | None = None) -> WebModel:
    """Load a run folder with :func:`cnnlab.train.runs.load` and name it for the API.

    Args:
        run_dir: a folder holding ``config.json`` and ``model.safetensors``.
        name: the API name; defaults to the folder's name.

    Raises:
        FileNotFoundError: when the folder or one of its two files is missing.
        ValueError: when ``config.json`` lacks a key, or the weights do not fit the spec.

    Example:
        >>> m = load_model(DEFAULT_RUNS["mlp"], name="mlp")
        >>> m.net.spec_text, m.classes[:3], m.mean
        ('flatten-linear(300)-relu-linear(100)-relu-linear(10)', ['0', '1', '2'], [0.1307])
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {str(run_dir)!r} does not exist")
    loaded = load(run_dir)
    return WebModel(
        name or run_dir.name,
        loaded.net,
        loaded.config,
        list(loaded.mean),
        list(loaded.std),
        [str(c) for c in loaded.classes],
        run_dir,
    )


def default_models() -> dict[str, WebModel]:
    """The two MNIST networks shipped with the package: ``mlp`` (784-300-100-10) and ``cnn`` (LeNet-like)."""
    return {name: load_model(path, name) for name, path in DEFAULT_RUNS.items()}


def models_from_runs(run_dirs: list[str | Path]) -> dict[str, WebModel]:
    """Load user run folders for the page; names are folder names, made unique with a suffix.

    Raises:
        ValueError: when a run's input is not a 1x28x28 image (the page draws MNIST-style digits).
    """
    models: dict[str, WebModel] = {}
    for run_dir in run_dirs:
        base = Path(run_dir).resolve().name
        name, k = base, 2
        while name in models:
            name, k = f"{base}-{k}", k + 1
        model = load_model(run_dir, name)
        if model.net.input_shape != WEB_INPUT_SHAPE:
            raise ValueError(
                f"--run {str(run_dir)!r}: the visualiser draws 1x28x28 digits, but this model's "
                f"input_shape is {'x'.join(map(str, model.net.input_shape))}"
            )
        models[name] = model
    return models


def describe(model: WebModel) -> dict:
    """JSON description of a model for the front end: every layer's kind, shapes and window.

    Conv and pool layers carry ``kernel_size``, ``stride`` and ``padding`` (what the page needs to
    trace a unit's inputs back layer by layer) and the :class:`cnnlab.shapes.ReceptiveField` of one
    of their units.

    Example:
        >>> d = describe(load_model(DEFAULT_RUNS["cnn"], name="cnn"))
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
        if isinstance(info.layer, S.Conv):
            row.update(
                kernel_size=info.layer.kernel_size,
                stride=info.layer.stride,
                padding=info.layer.padding,
                locally_connected=info.locally_connected,
                dense=info.dense,
            )
        elif isinstance(info.layer, (S.MaxPool, S.AvgPool)):
            row.update(kernel_size=info.layer.kernel_size, stride=info.layer.step, padding=info.layer.padding)
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
        "spec": model.net.spec_text,
        "input_shape": list(model.net.input_shape),
        "classes": model.classes,
        "mean": model.mean,
        "std": model.std,
        "num_params": model.net.num_params,
        "provenance": provenance,
        "layers": layers,
    }


def unit_weights(model: WebModel, layer: int, unit: int | None) -> dict:
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
