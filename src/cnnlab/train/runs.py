"""Run folders: what a training run writes, and reading its config back.

A run folder holds::

    config.json          resolved TrainConfig + model spec (classes filled), input shape, classes, normalisation,
                         and "system": the device, GPU name, precision, versions this run started on
    metrics.jsonl        one JSON object per epoch
    model.safetensors    final weights (the engine's state_dict; safetensors, so loading runs no code)
    checkpoint-last.safetensors / checkpoint-best.safetensors   weights + optimizer + RNG state, for --resume
    results.json         final test accuracy/loss, time, parameters, and the "system" it finished on
    learning_curve.png   loss and accuracy per epoch

:class:`cnnlab.model.Model` loads a run folder for inference (``cnnlab.load(RUN_DIR)``).

Example:
    >>> import tempfile
    >>> from cnnlab.train import TrainConfig, fit
    >>> out = tempfile.mkdtemp()
    >>> _ = fit(TrainConfig(model="logreg", dataset="digits", epochs=1, lr=0.05), out=out)
    >>> config = read_run_config(out)
    >>> config["spec"], config["input_shape"], train_config(config).epochs
    ('flatten-linear(10)', [1, 8, 8], 1)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from cnnlab import engine
from cnnlab._version import __version__
from cnnlab.io import atomic_write, atomic_write_text
from cnnlab.train.config import TrainConfig, field_names

RUN_KEYS = ("spec", "input_shape", "classes", "normalize", "params", "cnnlab_version")


def write_run_config(out: Path, config: TrainConfig, net: engine.Network, data, system: dict | None = None) -> None:
    """``config.json``: the resolved config plus what is needed to rebuild the model without the data.

    ``system`` (:func:`cnnlab.train.environment.system_info`) records where the run trains; the
    config's own ``device`` and ``amp`` stay as given (``auto`` resolves anew on another machine).
    """
    payload = config.to_dict() | {
        "spec": net.spec_text,
        "input_shape": list(net.input_shape),
        "classes": list(data.classes),
        "normalize": {"mean": list(data.mean), "std": list(data.std)},
        "params": net.num_params,
        "cnnlab_version": __version__,
    }
    if system is not None:
        payload["system"] = system
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
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a cnnlab run folder (it does not exist)")
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
