"""The training configuration: one dataclass, saved (resolved) in every run folder.

A config comes from defaults, then a JSON or TOML file (``--config FILE``), then command-line
overrides; :func:`TrainConfig.validate` checks every field and names the bad one.

Example:
    >>> cfg = TrainConfig(model="lenet", dataset="digits", epochs=2)
    >>> cfg.replace(lr=0.01).lr
    0.01
    >>> TrainConfig(optimizer="adamm").validate()
    Traceback (most recent call last):
    ...
    ValueError: optimizer must be one of sgd, adam, adamw, rmsprop, adagrad, adadelta, got 'adamm'
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
SCHEDULES = ("onecycle", "cosine", "step", "none")
DEVICES = ("auto", "cpu", "cuda")
AMPS = ("auto", "off", "bf16", "fp16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (together with the code version).

    Attributes:
        model: preset name or text spec (see ``cnnlab.spec``); default ``cnn``, the course's CNN.
        dataset: registry name (``digits``, ``mnist1d``, ``mnist``, ``folder:PATH``, ``ising:PATH``...).
        data_dir: folder with the dataset's standard files (offline use), or None for the cache.
        epochs, batch_size: length of training and examples per step.
        optimizer, lr, momentum, weight_decay: the update rule. ``lr=None`` picks the optimizer's default.
        schedule: learning-rate schedule over all steps: ``onecycle`` (warm-up then anneal),
            ``cosine``, ``step`` (x gamma every ``step_size`` epochs) or ``none``.
        label_smoothing: cross-entropy label smoothing (0 = plain cross-entropy).
        augment_shift: random translation by up to this many pixels during training (0 = off).
        val_split: fraction of the training set held out for validation (early stopping needs it).
        train_subset: use only the first N (shuffled, stratification-free) training examples; 0 = all.
        early_stopping: stop after this many epochs without validation-loss improvement; 0 = off.
        seed: seeds initial weights, shuffling, dropout and augmentation.
        threads: torch CPU threads (0 = torch's default).
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        channels_last: NHWC memory layout for 2-D convs (faster on CPUs with oneDNN and on GPUs).
        amp: mixed precision: ``auto`` (bfloat16 on CUDA GPUs with native support, compute
            capability >= 8.0; float16 with a gradient scaler on older ones such as T4 and V100; off
            on CPU), ``off``, ``bf16`` or ``fp16`` (both also work on CPU, slowly).
        deterministic: deterministic kernels only (cuDNN, cuBLAS with ``CUBLAS_WORKSPACE_CONFIG``):
            two CUDA runs, or a resumed and an uninterrupted one, give the same weights bit for bit,
            somewhat slower. Off by default: CPU training is deterministic anyway, and on a GPU
            speed comes first unless asked.
        eval_every_epoch: evaluate on the test set after every epoch (else only at the end).
    """

    model: str = "cnn"  # the course's CNN: it fits every embedded dataset (8x8 digits, 28x28, 1-D)
    dataset: str = "digits"
    data_dir: str | None = None
    epochs: int = 5
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"
    step_size: int = 1
    gamma: float = 0.7
    label_smoothing: float = 0.0
    augment_shift: int = 0
    val_split: float = 0.0
    train_subset: int = 0
    early_stopping: int = 0
    seed: int = 0
    threads: int = 0
    device: str = "auto"
    channels_last: bool = False
    amp: str = "auto"
    deterministic: bool = False
    eval_every_epoch: bool = True

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed; unknown names raise ValueError."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown config field(s) {', '.join(unknown)}; valid: {', '.join(field_names())}")
        return dataclasses.replace(self, **changes)

    @property
    def resolved_lr(self) -> float:
        """The learning rate actually used (``lr`` or the optimizer's usual default)."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def validate(self) -> TrainConfig:
        """Check every field (type, range, finiteness, the documented bounds); returns self so it chains."""
        for name in ("model", "dataset"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ValueError(f"data_dir must be a folder name (a string) or absent, got {self.data_dir!r}")
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("device", self.device, DEVICES)
        _choice("amp", self.amp, AMPS)
        for name in ("channels_last", "deterministic", "eval_every_epoch"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        for name, (low, high) in INT_BOUNDS.items():
            _int_in(name, getattr(self, name), low, high)
        if self.lr is not None:
            _number_in("lr", self.lr, 0.0, math.inf, open_low=True)
        for name, lowest, highest in (
            ("val_split", 0.0, 0.9),
            ("label_smoothing", 0.0, 0.99),
            ("momentum", 0.0, 0.9999),
            ("gamma", 1e-6, 1.0),
            ("weight_decay", 0.0, math.inf),
        ):
            _number_in(name, getattr(self, name), lowest, highest)
        if self.early_stopping and not self.val_split:
            raise ValueError("early_stopping needs a validation set: set val_split (e.g. --val-split 0.1)")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> TrainConfig:
        unknown = sorted(set(data) - set(field_names()))
        if unknown:
            raise ValueError(f"{source}: unknown field(s) {', '.join(unknown)}; valid: {', '.join(field_names())}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> TrainConfig:
        """Read a JSON or TOML config file, then apply overrides (None values are ignored)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError(f"config file {path} is larger than {MAX_CONFIG_BYTES:,} bytes; is it a config file?")
        try:
            text = path.read_text()
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as err:
            raise ValueError(
                f"config file {path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {err}"
            ) from None
        if not isinstance(data, dict):
            raise ValueError(f"config file {path} must hold an object of fields, got {type(data).__name__}")
        if "cnnlab_version" in data:  # a run folder's config.json: train again as that run was configured
            data = {k: v for k, v in data.items() if k not in RUN_RECORD_KEYS}
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(data, source=str(path))


#: What ``cnnlab train`` writes into a run folder's config.json beside the config's own fields (the
#: trained network, its data and where it ran); ``--config RUN/config.json`` skips them.
RUN_RECORD_KEYS = ("spec", "input_shape", "classes", "normalize", "params", "cnnlab_version", "system")


DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2, "adadelta": 1.0}


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig)]


#: The documented range of every integer field: work and memory an option controls are bounded (batch
#: memory is also estimated against the limit before training, :func:`cnnlab.spec.estimate_memory`).
INT_BOUNDS = {
    "epochs": (1, 100_000),
    "batch_size": (1, 1_000_000),
    "step_size": (1, 100_000),
    "augment_shift": (0, 1024),  # and smaller than the input (checked against the data)
    "train_subset": (0, 10**9),
    "early_stopping": (0, 100_000),
    "seed": (0, 2**63 - 1),  # torch seeds are 64-bit; the trainer adds small offsets
    "threads": (0, 1024),
}
MAX_CONFIG_BYTES = 1_000_000


def _choice(name: str, value, valid: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)}, got {value!r}")


def _int_in(name: str, value, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if value > high:
        raise ValueError(f"{name} must be at most {high:,}, got {value:,}")


def _number_in(name: str, value, low: float, high: float, open_low: bool = False) -> None:
    """A finite int or float in [low, high] (or (low, high]); ``high`` may be infinite (then only finiteness)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or value > high or (open_low and value == low):
        if math.isinf(high):
            rule = f"a finite number {'>' if open_low else '>='} {low:g}"
        else:
            rule = f"between {low} and {high}"
        raise ValueError(f"{name} must be {rule}, got {value!r}")
