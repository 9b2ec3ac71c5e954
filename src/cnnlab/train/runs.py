"""Run folders: what a training run writes, and loading one back for inference.

A run folder holds::

    config.json          resolved TrainConfig + model spec (classes filled), input shape, classes, normalisation
    metrics.jsonl        one JSON object per epoch
    model.safetensors    final weights (the engine's state_dict; safetensors, so loading runs no code)
    checkpoint-last.safetensors / checkpoint-best.safetensors   weights + optimizer + RNG state, for --resume
    results.json         final test accuracy/loss, time, parameters
    learning_curve.png   loss and accuracy per epoch

Example:
    >>> import tempfile
    >>> from cnnlab.train import TrainConfig, fit
    >>> out = tempfile.mkdtemp()
    >>> _ = fit(TrainConfig(model="logreg", dataset="digits", epochs=1, lr=0.05), out=out)
    >>> model = load(out)
    >>> model.predict_proba(model.dataset_example()).shape
    torch.Size([1, 10])
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cnnlab import engine
from cnnlab._version import __version__
from cnnlab.data.normalization import normalize
from cnnlab.io import atomic_write, atomic_write_text
from cnnlab.train.checkpoint import CheckpointError, load_model_state
from cnnlab.train.config import TrainConfig, field_names

RUN_KEYS = ("spec", "input_shape", "classes", "normalize", "params", "cnnlab_version")


def write_run_config(out: Path, config: TrainConfig, net: engine.Network, data) -> None:
    """``config.json``: the resolved config plus what is needed to rebuild the model without the data."""
    payload = config.to_dict() | {
        "spec": net.spec_text,
        "input_shape": list(net.input_shape),
        "classes": list(data.classes),
        "normalize": {"mean": list(data.mean), "std": list(data.std)},
        "params": net.num_params,
        "cnnlab_version": __version__,
    }
    atomic_write_text(out / "config.json", json.dumps(payload, indent=2) + "\n")


def write_metrics(out: Path, records: list[dict]) -> None:
    """``metrics.jsonl`` rewritten from the history (so a resumed run never duplicates an epoch)."""
    atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in records))


def write_run_results(out: Path, net: torch.nn.Module, history) -> None:
    """Final weights, results.json and the learning-curve plot."""
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    atomic_write(out / "model.safetensors", lambda tmp: save_file(state, tmp, metadata={"format": "cnnlab-model-v1"}))
    atomic_write_text(out / "results.json", json.dumps(history.final, indent=2) + "\n")
    from cnnlab.plots import learning_curve

    learning_curve(history.epochs, out / "learning_curve.png")


def read_run_config(run_dir: str | Path) -> dict:
    """The run's ``config.json`` as a dict, with a clear error when the folder is not a run."""
    run_dir = Path(run_dir)
    path = run_dir / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a cnnlab run folder (no config.json)")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if "spec" not in config and "model" in config:  # hand-made run folders may name the spec "model"
        config["spec"] = config["model"]
    missing = [k for k in ("spec", "input_shape", "classes", "normalize") if k not in config]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}; was it written by cnnlab train?")
    return config


def train_config(run_config: dict) -> TrainConfig:
    """The TrainConfig part of a run's config.json."""
    return TrainConfig.from_dict({k: v for k, v in run_config.items() if k in field_names()})


@dataclass
class LoadedModel:
    """A trained network ready for inference: normalises inputs itself.

    Attributes:
        net: the engine network, in eval mode.
        classes: class names.
        mean, std: the training set's normalisation.
        config: the run's config.json.
    """

    net: engine.Network
    classes: list[str]
    mean: list[float]
    std: list[float]
    config: dict

    @torch.inference_mode()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities for raw inputs ``(N, *input_shape)`` (e.g. images in [0, 1])."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() == len(self.net.input_shape):
            x = x.unsqueeze(0)
        logits = self.net.logits_model()(normalize(x, self.mean, self.std))
        return logits.softmax(-1)

    def dataset_example(self) -> torch.Tensor:
        """A zero input of the right shape (handy for smoke tests)."""
        return torch.zeros(1, *self.net.input_shape)


def load(run_dir: str | Path, weights: str = "model.safetensors") -> LoadedModel:
    """Load a run folder for inference: ``cnnlab.load(RUN_DIR)``."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    net = engine.build(config["spec"], tuple(config["input_shape"]))
    path = run_dir / weights
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no {weights}; did training finish? (try --resume)")
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path} is corrupted or not a safetensors file ({err})") from None
    if any(k.startswith("model.") for k in tensors):  # a training checkpoint
        tensors = {k: v for k, v in tensors.items() if k.startswith("model.")}
        load_model_state(net, tensors, path)
    else:
        load_model_state(net, {f"model.{k}": v for k, v in tensors.items()}, path)
    net.eval()
    return LoadedModel(net, list(config["classes"]), config["normalize"]["mean"], config["normalize"]["std"], config)
