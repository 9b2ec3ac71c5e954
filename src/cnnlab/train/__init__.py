"""Training: config, fit loop, callbacks, checkpoints and run folders (:mod:`cnnlab.model` loads them back).

Example:
    >>> from cnnlab.train import TrainConfig, fit
    >>> cfg = TrainConfig(model="mlp", dataset="digits", epochs=1)
    >>> cfg.optimizer, cfg.resolved_lr
    ('adam', 0.001)
"""

from cnnlab.train.callbacks import Callback, Checkpoint, EarlyStopping, History, NonFiniteLossError
from cnnlab.train.checkpoint import CheckpointError
from cnnlab.train.config import OPTIMIZERS, SCHEDULES, TrainConfig
from cnnlab.train.loop import fit
from cnnlab.train.trainer import Trainer

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Callback",
    "Checkpoint",
    "CheckpointError",
    "EarlyStopping",
    "History",
    "NonFiniteLossError",
    "TrainConfig",
    "Trainer",
    "fit",
]
