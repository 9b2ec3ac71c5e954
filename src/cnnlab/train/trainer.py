"""One training run, top to bottom: seed, data, model, optimizer, loop, evaluation, save.

:class:`Trainer` is one run in one process; its setup is a sequence of small named steps (device,
data, network, optimizer, precision, randomness, callbacks) and :meth:`Trainer.run` trains epoch by
epoch. Data-parallel training changes a few of those steps; they live in
:class:`cnnlab.train.distributed.DataParallel`. :func:`cnnlab.train.fit` is the usual entry point.

On a GPU the step never waits for the host (:mod:`cnnlab.train.batches`): loss and accuracy are
read back every ``sync_every`` steps, so a NaN stops the run within that many (every step on a CPU).

Example:
    >>> from cnnlab.data import load_dataset
    >>> trainer = Trainer(TrainConfig(model="logreg", dataset="digits", epochs=2, lr=0.05), load_dataset("digits"), log=None)
    >>> trainer.run().final["test_accuracy"] > 0.8
    True
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from tqdm import tqdm

from cnnlab import engine
from cnnlab.data import load_dataset
from cnnlab.data.dataset import Dataset
from cnnlab.train import checkpoint as ckpt
from cnnlab.train import runs
from cnnlab.train.batches import StepTotals, epoch_batches, host_to, place, training_splits
from cnnlab.train.callbacks import Callback, Checkpoint, EarlyStopping, History, check_finite, epoch_line
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import amp_dtype, amp_name, deterministic_algorithms, pick_device, require_deterministic_cublas
from cnnlab.train.environment import system_info
from cnnlab.train.evaluation import device_logits, evaluate_logits
from cnnlab.train.optim import lr_factor, make_optimizer
from cnnlab.train.preflight import check_fits

#: Steps between read-backs of loss and accuracy on a GPU (a NaN loss stops training within this many steps).
SYNC_EVERY = 50


def _silent(message: str) -> None:
    pass


class Trainer:
    """One training run in this process; :func:`fit` is the usual entry point.

    Args:
        config: the run's configuration (validated here).
        dataset: an already loaded dataset (else loaded from ``config.dataset``).
        out: run folder to write, or None.
        callbacks: called after every epoch, after the checkpointing and early stopping that the
            config asks for; one that returns True stops training.
        log: receives one line per epoch; None = silent.
        progress: a progress bar per epoch on stderr (default: when stderr is a terminal).
        net: a prebuilt ``torch.nn.Module`` mapping normalised inputs to logits, trained instead of
            building ``config.model`` (e.g. a wrapper that symmetrises a network).
    """

    @property
    def is_main(self) -> bool:
        """Whether this process logs and writes the run folder (in a multi-process job, rank 0 only)."""
        return True

    @property
    def dropout_offset(self) -> int:
        """Added to the dropout seed (in a multi-process job each rank draws its own masks)."""
        return 0

    @property
    def world_size(self) -> int:
        """Processes training together (1: this one); :attr:`backend`: their process group's (None)."""
        return 1

    @property
    def backend(self) -> str | None:
        return None

    def __init__(
        self,
        config: TrainConfig,
        dataset: Dataset | None = None,
        out: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        log: Callable[[str], None] | None = print,
        progress: bool | None = None,
        net: torch.nn.Module | None = None,
    ):
        self.config = config.validate()
        self.out = Path(out) if out is not None else None
        self.log = log if log is not None and self.is_main else _silent
        self.progress = self.is_main and (sys.stderr.isatty() if progress is None else progress)
        self.device = self.set_up_device()
        self.data = dataset if dataset is not None else load_dataset(config.dataset, data_dir=config.data_dir)
        self.set_up_data()
        self.net = self.set_up_network(net)
        self.loss_model = self.net.logits_model() if isinstance(self.net, engine.Network) else self.net
        self.train_model = self.wrap_for_training(self.loss_model)
        # Fused optimizer kernels on a GPU: one launch per step, and no host sync under a gradient scaler.
        self.optimizer = make_optimizer(config, self.net.parameters(), fused=self.device.type == "cuda")
        self.set_up_precision()
        self.set_up_randomness()
        self.callbacks = self.standard_callbacks() + list(callbacks)
        self.batch_callbacks = [cb for cb in self.callbacks if type(cb).on_batch_end is not Callback.on_batch_end]
        self.stopped_in_epoch = False
        self.history = History()
        self.start_epoch = 1
        self.steps_per_epoch = math.ceil(len(self.y_train) / config.batch_size)
        self.sync_every = 1 if self.device.type == "cpu" else SYNC_EVERY
        self.system = system_info(
            self.device, amp_name(self.amp_dtype), config.deterministic, self.data_device, self.world_size, self.backend
        )

    # -- setup, in the order __init__ runs it ------------------------------------------------------
    def set_up_device(self) -> torch.device:
        """Threads and device (``auto``: CUDA when present); cuBLAS's reproducible mode before CUDA starts, when asked."""
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        device = pick_device(self.config.device)
        if self.config.deterministic:
            require_deterministic_cublas(device)
        return device

    def set_up_data(self) -> None:
        """Normalise, hold out the validation split (seeded), keep ``train_subset`` examples; on the GPU when they fit."""
        self.data_device, placed = place(training_splits(self.data, self.config), self.device)
        self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test = placed

    def set_up_network(self, net: torch.nn.Module | None) -> torch.nn.Module:
        """``config.model`` built with seeded initial weights (or ``net``), on the device, in its memory layout."""
        cfg, data = self.config, self.data
        if net is not None and self.out is not None and not isinstance(net, engine.Network):
            raise TypeError(
                f"net must be a cnnlab.engine.Network when a run folder is written (out={str(self.out)!r}), "
                f"got {type(net).__name__}; train it without out, or build it with cnnlab.engine.build"
            )
        if net is None:
            # Shapes and memory from the spec, before anything is allocated.
            check_fits(cfg, data.input_shape, data.num_classes, len(self.y_train), len(self.y_test))
            net = engine.build(cfg.model, data.input_shape, data.num_classes, seed=cfg.seed)
        image = len(data.input_shape) == 3
        self.memory_format = torch.channels_last if cfg.channels_last and image else torch.contiguous_format
        return net.to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]  # torch's stub lacks memory_format

    def wrap_for_training(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module the training step calls (one process: the model itself)."""
        return model

    def set_up_precision(self) -> None:
        """Mixed precision (``config.amp``) and, for float16, a gradient scaler."""
        self.amp_dtype = amp_dtype(self.config.amp, self.device)
        # float16 needs loss scaling so that small gradients do not underflow; bfloat16 does not.
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)

    def set_up_randomness(self) -> None:
        """A seeded generator for shuffling and augmentation, and the global seed for dropout."""
        self.generator = torch.Generator().manual_seed(self.config.seed + 1)
        torch.manual_seed(self.config.seed + 2 + self.dropout_offset)

    def standard_callbacks(self) -> list[Callback]:
        """Checkpointing (with a run folder) and early stopping, as the config asks."""
        # The checkpoint is written first, so that a callback that fails or stops the run cannot lose it.
        callbacks: list[Callback] = []
        if self.out is not None:
            callbacks.append(Checkpoint("val_loss" if self.config.val_split else "train_loss"))
        if self.config.early_stopping:
            callbacks.append(EarlyStopping(self.config.early_stopping))
        return callbacks

    # -- checkpoints -------------------------------------------------------------------------------
    def rng_states(self) -> dict[str, torch.Tensor]:
        """The random states a checkpoint saves, so that a resumed run draws what the uninterrupted one would."""
        rng = {"torch": torch.get_rng_state(), "generator": self.generator.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return rng

    def rng_key(self, name: str) -> str:
        """The checkpoint key of this process's random state ``name``."""
        return name

    def save_checkpoint(self, name: str, epoch: int) -> None:
        """Write ``out/name``: weights, optimizer, random states and the history so far."""
        rng = self.rng_states()
        if not self.is_main:
            return
        if self.out is None:
            raise ValueError(f"save_checkpoint({name!r}) needs a run folder: this trainer was made with out=None")
        position = {"epoch": epoch, "history": self.history.epochs}
        if self.scaler.is_enabled():
            position["scaler"] = self.scaler.state_dict()
        ckpt.save_checkpoint(self.out / name, self.net, self.optimizer, rng, position)

    def resume(self, path: str | Path) -> None:
        """Continue from a checkpoint written by this trainer (same config and dataset)."""
        position, rng = ckpt.load_checkpoint(path, self.net, self.optimizer)
        if self.rng_key("torch") in rng:
            torch.set_rng_state(rng[self.rng_key("torch")])
        if self.device.type == "cuda" and self.rng_key("cuda") in rng:
            torch.cuda.set_rng_state(rng[self.rng_key("cuda")], self.device)
        if "generator" in rng:
            self.generator.set_state(rng["generator"])
        if "scaler" in position and self.scaler.is_enabled():
            self.scaler.load_state_dict(position["scaler"])
        self.history.epochs = list(position.get("history", []))
        self.start_epoch = int(position.get("epoch", 0)) + 1

    # -- one epoch ---------------------------------------------------------------------------------
    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
        """(x, y, batch size) for each step of an epoch: a seeded shuffle, augmented when asked, where the data lives."""
        return epoch_batches(
            self.x_train, self.y_train, self.config.batch_size, self.generator, self.config.augment_shift
        )

    def batch_loss(self, logits: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to differentiate: the batch's mean cross-entropy, the sum of its ``n`` losses in float64 to report)."""
        loss = F.cross_entropy(logits, y, label_smoothing=self.config.label_smoothing)
        return loss, loss.detach().double() * n

    def combine_steps(self, steps: torch.Tensor) -> torch.Tensor:
        """Per-step (loss sum, correct) of the whole job from this process's (one process: unchanged)."""
        return steps

    def lr_at(self, epoch: int, step: int) -> float:
        """The learning rate of ``step`` (1-based) of ``epoch``: the schedule is a function of the global step."""
        cfg, per_epoch = self.config, self.steps_per_epoch
        return cfg.resolved_lr * lr_factor(cfg, (epoch - 1) * per_epoch + step - 1, per_epoch)

    def train_epoch(self, epoch: int) -> dict:
        """One pass over the training set; returns the epoch's record (loss, accuracy, lr, seconds)."""
        self.net.train()
        totals, seen = StepTotals(self.sync_every, self.device), 0
        started = time.perf_counter()
        with tqdm(
            total=self.steps_per_epoch,
            desc=f"epoch {epoch}/{self.config.epochs}",
            disable=not self.progress,
            leave=False,
            file=sys.stderr,
            unit="step",
        ) as bar:
            for step, (x, y, n) in enumerate(self.batches(), start=1):
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr_at(epoch, step)
                x = host_to(x, self.device).contiguous(memory_format=self.memory_format)
                y = host_to(y, self.device)
                with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                    logits = self.train_model(x)
                    loss, loss_sum = self.batch_loss(logits, y, n)
                totals.add(loss_sum, (logits.argmax(1) == y).sum())
                seen += n
                if totals.full or step == self.steps_per_epoch:  # the host waits for the device here, and only here
                    check_finite(totals.read(self.combine_steps), epoch, lambda s: self.lr_at(epoch, s))
                    bar.set_postfix(loss=f"{totals.loss / seen:.4f}")
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)  # a plain optimizer.step() when the scaler is disabled
                self.scaler.update()
                bar.update()
                if self.batch_callbacks and self.shared(
                    any(cb.on_batch_end(step, self) for cb in self.batch_callbacks)
                ):
                    self.stopped_in_epoch = True  # a stop asked for between steps ends the run after this one
                    if totals.count:
                        check_finite(totals.read(self.combine_steps), epoch, lambda s: self.lr_at(epoch, s))
                    break
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the epoch's time includes its last queued steps
        return {
            "epoch": epoch,
            "train_loss": totals.loss / seen,
            "train_accuracy": totals.correct / seen,
            "lr": self.lr_at(epoch, step),
            "seconds": time.perf_counter() - started,
        }

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        """Loss and accuracy on normalised inputs ``x`` (logits stay on the device; one read-back)."""
        x = x.contiguous(memory_format=self.memory_format) if x.dim() == 4 else x
        return evaluate_logits(device_logits(self.loss_model, x), y)

    # -- the run -----------------------------------------------------------------------------------
    def shared(self, value):
        """What every process of the job uses (one process: ``value`` itself)."""
        return value

    def finish(self) -> None:
        """Called once the run folder is complete."""

    def run(self) -> History:
        """Train from ``start_epoch`` to ``config.epochs`` (or until a callback stops), evaluate, save."""
        # With config.deterministic, deterministic kernels only, for this run (the global setting is restored).
        with deterministic_algorithms(self.config.deterministic):
            return self._run()

    def _run(self) -> History:
        cfg = self.config
        if self.out is not None and self.is_main:
            # set_up_network refused any other module when a run folder is written.
            runs.write_run_config(self.out, cfg, cast(engine.Network, self.net), self.data, self.system)
        started = time.perf_counter()
        train_seconds = sum(r.get("seconds", 0.0) for r in self.history.epochs)
        for epoch in range(self.start_epoch, cfg.epochs + 1):
            record = self.train_epoch(epoch)
            if self.is_main:
                if len(self.y_val):
                    record.update({f"val_{k}": v for k, v in self.evaluate(self.x_val, self.y_val).items()})
                if cfg.eval_every_epoch or epoch == cfg.epochs:
                    record.update({f"test_{k}": v for k, v in self.evaluate(self.x_test, self.y_test).items()})
            record = self.shared(record)
            train_seconds += record["seconds"]
            self.history.epochs.append(record)
            self.log(epoch_line(record, cfg.epochs))
            if self.out is not None and self.is_main:
                runs.write_metrics(self.out, self.history.epochs)
            if (
                any(self.shared([cb.on_epoch_end(epoch, record, self) for cb in self.callbacks]))
                or self.stopped_in_epoch
            ):
                self.history.stopped_early = epoch
                self.log(
                    f"stopped during epoch {epoch}" if self.stopped_in_epoch else f"early stopping at epoch {epoch}"
                )
                break
        final = self.shared(self.evaluate(self.x_test, self.y_test) if self.is_main else None)
        self.history.final = {
            "test_accuracy": final["accuracy"],
            "test_loss": final["loss"],
            "train_seconds": train_seconds,
            "wall_seconds": time.perf_counter() - started,
            "epochs": len(self.history.epochs),
            "params": sum(p.numel() for p in self.net.parameters()),
            "model": self.net.spec_text if isinstance(self.net, engine.Network) else cfg.model,
            "dataset": self.data.name,
            "run_dir": str(self.out) if self.out is not None else None,
            "system": self.system,
        }
        if self.out is not None:
            if self.is_main:
                runs.write_run_results(self.out, self.net, self.history)
            self.finish()
        return self.history
