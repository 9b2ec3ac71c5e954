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
import math
import shutil
from pathlib import Path

import torch
from safetensors.torch import save

from cnnlab import engine
from cnnlab._version import __version__
from cnnlab.io import TEMPORARY_NAME, WriteError, atomic_write_bytes, atomic_write_text
from cnnlab.train.config import MAX_CONFIG_BYTES, TrainConfig, field_names


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
    atomic_write_bytes(out / "model.safetensors", save(state, metadata={"format": "cnnlab-model-v1"}))
    atomic_write_text(out / "results.json", json.dumps(history.final, indent=2) + "\n")
    from cnnlab.plots import learning_curve

    learning_curve(history.epochs, out / "learning_curve.png")


def read_run_config(run_dir: str | Path) -> dict:
    """The run's ``config.json`` as a dict, with a clear error when the folder is not a run.

    Everything :class:`cnnlab.model.Model` needs is checked here, before anything is built: the file's
    size, that it is a JSON object, and the types of ``spec``, ``input_shape``, ``classes`` and
    ``normalize`` (finite means, positive standard deviations, one per input channel).

    Raises:
        FileNotFoundError: no such folder, or no ``config.json`` in it.
        ValueError: the file is too large, not JSON, or a field has the wrong type or value (named).
    """
    run_dir = Path(run_dir)
    path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a cnnlab run folder (it does not exist)")
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a cnnlab run folder (no config.json)")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ValueError(f"{path} is larger than {MAX_CONFIG_BYTES:,} bytes; was it written by cnnlab train?")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object of fields, got {type(config).__name__}")
    if "spec" not in config and "model" in config:  # hand-made run folders may name the spec "model"
        config["spec"] = config["model"]
    missing = [k for k in ("spec", "input_shape", "classes", "normalize") if k not in config]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}; was it written by cnnlab train?")
    _check_fields(config, path)
    return config


def _check_fields(config: dict, path: Path) -> None:
    """The types and values of the fields a model is rebuilt from (a hand-edited or crafted file is refused)."""
    if not isinstance(config["spec"], str):
        raise ValueError(f"{path}: spec must be a spec text like 'conv(6,5)-relu-...', got {config['spec']!r:.80}")
    shape = config["input_shape"]
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape)
    ):
        raise ValueError(f"{path}: input_shape must be a list of 1 to 3 positive integers, got {shape!r:.80}")
    classes = config["classes"]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, (str, int)) for c in classes):
        raise ValueError(f"{path}: classes must be a non-empty list of class names, got {classes!r:.80}")
    norm = config["normalize"]
    if not isinstance(norm, dict):
        raise ValueError(f"{path}: normalize must be an object with mean and std, got {norm!r:.80}")
    for key in ("mean", "std"):
        values = norm.get(key)
        if (
            not isinstance(values, list)
            or len(values) != shape[0]
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
        ):
            raise ValueError(
                f"{path}: normalize.{key} must be {shape[0]} finite number(s), one per input channel, got {values!r:.80}"
            )
    if not all(v > 0 for v in norm["std"]):
        raise ValueError(f"{path}: normalize.std must be positive, got {norm['std']!r:.80}")


def train_config(run_config: dict) -> TrainConfig:
    """The TrainConfig part of a run's config.json."""
    return TrainConfig.from_dict({k: v for k, v in run_config.items() if k in field_names()})


#: What ``cnnlab train`` writes into a run folder (a folder holding one of these is a run).
RUN_FILES = (
    "config.json",
    "metrics.jsonl",
    "model.safetensors",
    "checkpoint-last.safetensors",
    "checkpoint-best.safetensors",
    "results.json",
    "learning_curve.png",
)


def prepare_run_folder(out: str | Path, overwrite: bool = False, create: bool = False) -> None:
    """Make sure a new run may be written into ``out``: it is new, empty, or a run folder to replace.

    Args:
        out: the run folder.
        overwrite: clear an existing run folder first (only a cnnlab run folder is ever cleared).
        create: make the (empty) folder now, so that a path that cannot be written is found before training.

    Raises:
        ValueError: ``out`` is a file, holds a run (without ``overwrite``), or holds files that are not a run.
        WriteError: the folder cannot be created.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "config.json").write_text("{}")
        >>> prepare_run_folder(folder)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: --out ... holds a run already; add --overwrite to replace it (its files are removed) or use --resume ... to continue it
        >>> prepare_run_folder(folder, overwrite=True); list(folder.iterdir())
        []
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; the run needs a folder (a new one, or an empty one)")
    entries = sorted(out.iterdir()) if out.is_dir() else []
    if entries:
        if not any(e.name in RUN_FILES or TEMPORARY_NAME.match(e.name) for e in entries):
            raise ValueError(
                f"--out {out} holds {len(entries)} file(s) that are not a cnnlab run (e.g. {entries[0].name}); "
                "choose a new or empty folder"
            )
        if not overwrite:
            raise ValueError(
                f"--out {out} holds a run already; add --overwrite to replace it (its files are removed) "
                f"or use --resume {out} to continue it"
            )
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise WriteError(err.errno, err.strerror, str(out)) from None
