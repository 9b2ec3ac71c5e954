"""The fit loop's entry point: :func:`fit` trains in this process, or as one process of a torchrun job.

The loop itself is :class:`cnnlab.train.trainer.Trainer` (setup steps, then epochs); the steps that
differ with several processes are :class:`cnnlab.train.distributed.DataParallel`'s.

Example:
    >>> from cnnlab.train import TrainConfig, fit
    >>> history = fit(TrainConfig(model="logreg", dataset="digits", epochs=2, batch_size=128, lr=0.05))
    >>> history.final["test_accuracy"] > 0.8
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from cnnlab.data.dataset import Dataset
from cnnlab.train import distributed
from cnnlab.train.callbacks import Callback, History
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import pick_device, require_deterministic_cublas
from cnnlab.train.trainer import Trainer


class DistributedTrainer(distributed.DataParallel, Trainer):
    """:class:`Trainer` as one process of a torchrun job (the steps that differ: :class:`~cnnlab.train.distributed.DataParallel`)."""


def fit(
    config: TrainConfig,
    dataset: Dataset | None = None,
    out: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
    resume: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool | None = None,
    net: torch.nn.Module | None = None,
) -> History:
    """Train a network as ``config`` says; returns the :class:`History`.

    Args:
        config: the run's configuration.
        dataset: an already loaded dataset (else loaded from ``config.dataset``).
        out: run folder to write (config, metrics, checkpoints, weights, plot); None = nothing written.
        callbacks: extra callbacks (early stopping and checkpointing come from the config); each
            sees every epoch's record and stops training by returning True.
        resume: a checkpoint (or run folder) to continue from.
        log: where the one-line-per-epoch summary goes (``print`` for the CLI); None = silent.
        progress: a progress bar per epoch on stderr (default: when stderr is a terminal).
        net: a prebuilt ``torch.nn.Module`` mapping normalised inputs to logits, trained instead of
            building ``config.model``. A run folder (``out``) needs a cnnlab engine network, so that
            :meth:`cnnlab.model.Model.from_run` can rebuild it.

    Started by ``torchrun`` (``RANK``/``WORLD_SIZE`` set), every process calls ``fit`` with the same
    arguments and they train together with DistributedDataParallel (see :mod:`cnnlab.train.distributed`).
    """
    device = pick_device(config.device)
    if config.deterministic:  # before anything starts CUDA (joining an NCCL process group does)
        require_deterministic_cublas(device)
    with distributed.process_group(device) as dist:
        if dist.enabled:
            trainer: Trainer = DistributedTrainer(config, dataset, out, callbacks, log, progress, net, dist=dist)
        else:
            trainer = Trainer(config, dataset, out, callbacks, log, progress, net)
        if resume is not None:
            path = Path(resume)
            trainer.resume(path / "checkpoint-last.safetensors" if path.is_dir() else path)
        return trainer.run()
