"""Training: config, fit loop, callbacks, checkpoints and run folders.

Example:
    >>> from cnnlab.train import TrainConfig, fit
    >>> cfg = TrainConfig(model="mlp", dataset="digits", epochs=1)
    >>> cfg.optimizer, cfg.resolved_lr
    ('adam', 0.001)
"""

from cnnlab.train.callbacks import Callback, Checkpoint, EarlyStopping, History, NonFiniteLossError
from cnnlab.train.checkpoint import CheckpointError
from cnnlab.train.config import OPTIMIZERS, SCHEDULES, TrainConfig
from cnnlab.train.loop import Trainer, fit
from cnnlab.train.runs import LoadedModel, load

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Callback",
    "Checkpoint",
    "CheckpointError",
    "EarlyStopping",
    "History",
    "LoadedModel",
    "NonFiniteLossError",
    "TrainConfig",
    "Trainer",
    "fit",
    "load",
]
