"""Checkpoints without pickle: safetensors for tensors, JSON for the rest, written atomically.

A checkpoint is one ``.safetensors`` file. Its tensors are the model's ``state_dict`` (keys
``model.<name>``), the optimizer's per-parameter state (``optim.<param>.<key>``) and the RNG states
(``rng.<name>``); its string metadata holds a format tag, the optimizer's hyper-parameters and the
training position as JSON. Loading never executes code, and a file that is truncated, foreign or
made for another network is refused with a message that says which.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from cnnlab.io import atomic_write_bytes

FORMAT = "cnnlab-checkpoint-v1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (corrupted, foreign, or for another network)."""


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    rng: dict[str, torch.Tensor] | None = None,
    position: dict | None = None,
) -> None:
    """Write model, optimizer state, RNG states and the training position to one file, atomically."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "position": json.dumps(position or {})}
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars = {}
        for index, param_state in state["state"].items():
            for key, value in param_state.items():
                if torch.is_tensor(value):
                    tensors[f"optim.{index}.{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{index}.{key}"] = value
        meta["optim_groups"] = json.dumps(state["param_groups"])
        meta["optim_class"] = type(optimizer).__name__
        meta["optim_scalars"] = json.dumps(scalars)
    for name, value in (rng or {}).items():
        tensors[f"rng.{name}"] = value.detach().cpu().contiguous()
    atomic_write_bytes(path, save(tensors, metadata=meta))


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a checkpoint, after checking that it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        tensors = load_file(path)
        from safetensors import safe_open

        with safe_open(path, framework="pt") as handle:
            meta = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} is corrupted or not a safetensors file ({err})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"checkpoint {path} is not a cnnlab checkpoint (format {meta.get('format')!r}, expected {FORMAT!r})"
        )
    return tensors, meta


def check_shapes(expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]], path: str | Path) -> None:
    """Refuse weights made for another network: the same tensor names with the same shapes (no data needed).

    Example:
        >>> check_shapes({"0.weight": (2, 3)}, {"0.weight": (2, 4)}, "model.safetensors")
        Traceback (most recent call last):
        ...
        cnnlab.train.checkpoint.CheckpointError: checkpoint model.safetensors was made for another network: 0.weight has shape (2, 4), this network needs (2, 3)
    """
    if set(found) != set(expected):
        raise CheckpointError(
            f"checkpoint {path} was made for another network: "
            f"missing {sorted(set(expected) - set(found))[:5]}, unexpected {sorted(set(found) - set(expected))[:5]}"
        )
    for key, shape in found.items():
        if tuple(shape) != tuple(expected[key]):
            raise CheckpointError(
                f"checkpoint {path} was made for another network: {key} has shape "
                f"{tuple(shape)}, this network needs {tuple(expected[key])}"
            )


def load_model_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor], path: str | Path = "checkpoint") -> None:
    """Load the ``model.*`` tensors into ``model``, refusing a checkpoint made for another network or with NaN/inf values."""
    state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    own = model.state_dict()
    check_shapes({k: tuple(v.shape) for k, v in own.items()}, {k: tuple(v.shape) for k, v in state.items()}, path)
    broken = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if broken:
        raise CheckpointError(
            f"checkpoint {path} holds NaN or infinite values in {', '.join(broken[:3])}; "
            "the run diverged or the file was altered (retrain, or resume from an earlier checkpoint)"
        )
    model.load_state_dict(state)


def load_checkpoint(
    path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> tuple[dict, dict[str, torch.Tensor]]:
    """Restore model (and optimizer) from ``path``; returns (position, rng states)."""
    tensors, meta = read_checkpoint(path)
    load_model_state(model, tensors, path)
    if optimizer is not None:
        if "optim_groups" not in meta:
            raise CheckpointError(f"checkpoint {path} holds no optimizer state; it cannot be resumed")
        groups = json.loads(meta["optim_groups"])
        own_groups = optimizer.state_dict()["param_groups"]
        own_class = type(optimizer).__name__
        written_by = meta.get("optim_class", own_class)
        if written_by != own_class or [sorted(g) for g in groups] != [sorted(g) for g in own_groups]:
            theirs = "another optimizer" if written_by == own_class else f"optimizer {written_by}"
            raise CheckpointError(
                f"checkpoint {path} holds the state of {theirs}, but this run uses {own_class} "
                "(was config.json changed?); resume with the optimizer it was trained with"
            )
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in own_groups]:
            raise CheckpointError(f"checkpoint {path}: optimizer state is for another network")
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        for key, value in json.loads(meta.get("optim_scalars", "{}")).items():
            index, name = key.split(".", 1)
            state.setdefault(int(index), {})[name] = value
        try:
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError) as err:
            raise CheckpointError(f"checkpoint {path}: optimizer state does not fit ({err})") from None
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    return json.loads(meta.get("position", "{}")), rng
