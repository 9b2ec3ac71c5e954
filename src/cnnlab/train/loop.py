"""The fit loop, top to bottom: seed, data, model, optimizer, loop, evaluation, save.

Example:
    >>> from cnnlab.train import TrainConfig, fit
    >>> history = fit(TrainConfig(model="logreg", dataset="digits", epochs=2, batch_size=128, lr=0.05))
    >>> history.final["test_accuracy"] > 0.8
    True
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from cnnlab import engine
from cnnlab.data.dataset import Dataset
from cnnlab.train import checkpoint as ckpt
from cnnlab.train import distributed, runs
from cnnlab.train.callbacks import Callback, Checkpoint, EarlyStopping, History, NonFiniteLossError
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import amp_dtype, pick_device
from cnnlab.train.optim import lr_factor, make_optimizer


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Per-channel (x - mean) / std for ``(N, C, ...)`` inputs."""
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return (x - torch.tensor(mean, dtype=x.dtype).view(shape)) / torch.tensor(std, dtype=x.dtype).view(shape)


@torch.inference_mode()
def predict_logits(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits for ``x`` (already normalised) in batches, model in eval mode."""
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    out = torch.cat([net(x[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])
    net.train(was_training)
    return out


def evaluate_logits(logits: torch.Tensor, y: torch.Tensor) -> dict:
    """Mean cross-entropy and accuracy of logits against labels."""
    return {"loss": F.cross_entropy(logits, y).item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}


class Trainer:
    """Holds the state of one run; :func:`fit` is the usual entry point."""

    def __init__(
        self,
        config: TrainConfig,
        dataset: Dataset | None = None,
        out: str | Path | None = None,
        callbacks: Sequence[Callback] = (),
        log: Callable[[str], None] | None = print,
        progress: bool | None = None,
        dist: distributed.Context = distributed.Context(),
        net: torch.nn.Module | None = None,
    ):
        self.config = config.validate()
        self.dist = dist  # one process unless started by torchrun (see cnnlab.train.distributed)
        self.out = Path(out) if out is not None else None
        self.log = log if log is not None and dist.is_main else (lambda message: None)
        self.progress = dist.is_main and (sys.stderr.isatty() if progress is None else progress)
        if config.threads:
            torch.set_num_threads(config.threads)
        self.device = distributed.local_device(pick_device(config.device), dist)
        self.data = dataset if dataset is not None else load_data(config)
        self._prepare_data()
        self.net = (
            net
            if net is not None
            else engine.build(config.model, self.data.input_shape, self.data.num_classes, seed=config.seed)
        )
        self.memory_format = (
            torch.channels_last if config.channels_last and len(self.data.input_shape) == 3 else torch.contiguous_format
        )
        self.net.to(self.device, memory_format=self.memory_format)
        if dist.enabled:
            distributed.check_batch_size(config.batch_size, dist.world_size)
            distributed.check_last_batch(len(self.y_train), config.batch_size, dist.world_size)
            self.net = distributed.sync_batchnorm(self.net, self.device)
        self.loss_model = self.net.logits_model() if isinstance(self.net, engine.Network) else self.net
        self.optimizer = make_optimizer(config, self.net.parameters())
        self.train_model = distributed.wrap(self.loss_model, dist, self.device)  # DDP when several processes
        self.amp_dtype = amp_dtype(config.amp, self.device)
        # float16 needs loss scaling so that small gradients do not underflow; bfloat16 does not.
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.generator = torch.Generator().manual_seed(config.seed + 1)  # shuffling and augmentation
        torch.manual_seed(config.seed + 2 + dist.rank)  # dropout: each rank its own masks
        # The checkpoint is written first, so that a callback that fails or stops the run cannot lose it.
        self.callbacks: list[Callback] = []
        if self.out is not None:
            self.callbacks.append(Checkpoint("val_loss" if config.val_split else "train_loss"))
        if config.early_stopping:
            self.callbacks.append(EarlyStopping(config.early_stopping))
        self.callbacks.extend(callbacks)
        self.history = History()
        self.start_epoch = 1
        self.steps_per_epoch = math.ceil(len(self.y_train) / config.batch_size)

    def _prepare_data(self) -> None:
        cfg, data = self.config, self.data
        x, y = normalize(data.x_train, data.mean, data.std), data.y_train
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(cfg.seed))
        n_val = round(cfg.val_split * len(y))
        if cfg.val_split and n_val < 1:
            raise ValueError(f"val_split={cfg.val_split} leaves no validation example out of {len(y)}")
        self.x_val, self.y_val = x[order[:n_val]], y[order[:n_val]]
        train_index = order[n_val:]
        if cfg.train_subset:
            if cfg.train_subset > len(train_index):
                raise ValueError(
                    f"train_subset must be <= {len(train_index)} (training examples available), got {cfg.train_subset}"
                )
            train_index = train_index[: cfg.train_subset]
        self.x_train, self.y_train = x[train_index].contiguous(), y[train_index].contiguous()
        self.x_test, self.y_test = normalize(data.x_test, data.mean, data.std), data.y_test

    # ----------------------------------------------------------------------------------------------
    def save_checkpoint(self, name: str, epoch: int) -> None:
        """Write a checkpoint (rank 0 only; in a multi-process job every rank must call it)."""
        rng = {"torch": torch.get_rng_state(), "generator": self.generator.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        rng = distributed.gather_rng(rng, self.dist)
        if not self.dist.is_main:
            return
        position = {"epoch": epoch, "history": self.history.epochs}
        if self.scaler.is_enabled():
            position["scaler"] = self.scaler.state_dict()
        ckpt.save_checkpoint(self.out / name, self.net, self.optimizer, rng, position)

    def resume(self, path: str | Path) -> None:
        """Continue from a checkpoint written by this trainer (same config and dataset; every rank loads it)."""
        position, rng = ckpt.load_checkpoint(path, self.net, self.optimizer)
        if distributed.rng_key("torch", self.dist) in rng:
            torch.set_rng_state(rng[distributed.rng_key("torch", self.dist)])
        if self.device.type == "cuda" and distributed.rng_key("cuda", self.dist) in rng:
            torch.cuda.set_rng_state(rng[distributed.rng_key("cuda", self.dist)], self.device)
        if "generator" in rng:
            self.generator.set_state(rng["generator"])
        if "scaler" in position and self.scaler.is_enabled():
            self.scaler.load_state_dict(position["scaler"])
        self.history.epochs = list(position.get("history", []))
        self.start_epoch = int(position.get("epoch", 0)) + 1

    def _batches(self):
        """(x, y, global batch size); with several processes, x and y are this rank's part of the global batch."""
        n = len(self.y_train)
        order = torch.randperm(n, generator=self.generator)
        for start in range(0, n, self.config.batch_size):
            index = order[start : start + self.config.batch_size]
            x = self.x_train[index]
            if self.config.augment_shift:
                from cnnlab.data import random_translate

                # The whole global batch, on every rank, so that the shared generator stays in step.
                x = random_translate(x, self.config.augment_shift, self.generator)
            part = distributed.shard(len(index), self.dist)
            yield x[part], self.y_train[index][part], len(index)

    def train_epoch(self, epoch: int) -> dict:
        cfg, net = self.config, self.net
        net.train()
        total_loss, correct, seen = 0.0, 0, 0
        started = time.perf_counter()
        bar = tqdm(
            total=self.steps_per_epoch,
            desc=f"epoch {epoch}/{cfg.epochs}",
            disable=not self.progress,
            leave=False,
            file=sys.stderr,
            unit="step",
        )
        for step, (x, y, n_global) in enumerate(self._batches(), start=1):
            global_step = (epoch - 1) * self.steps_per_epoch + step - 1
            factor = lr_factor(cfg, global_step, self.steps_per_epoch)
            for group in self.optimizer.param_groups:
                group["lr"] = cfg.resolved_lr * factor
            x = x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
            y = y.to(self.device, non_blocking=True)
            with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
                logits = self.train_model(x)
                if self.dist.enabled:
                    # DDP averages gradients over ranks: sum * world / n_global makes that average the
                    # gradient of the global batch's mean loss, even when the last batch splits unevenly.
                    loss_sum = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing, reduction="sum")
                    loss = loss_sum * (self.dist.world_size / n_global)
                else:
                    loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            batch_correct = (logits.argmax(1) == y).sum().item()
            if self.dist.enabled:  # every rank sees the global loss, so all stop together on a NaN
                batch_loss, batch_correct = distributed.all_sum(
                    [loss_sum.item(), batch_correct], self.dist, self.device
                )
                loss_value = batch_loss / n_global
            else:
                loss_value = loss.item()
            if not math.isfinite(loss_value):
                bar.close()
                raise NonFiniteLossError(
                    f"loss became {loss_value} at epoch {epoch}, step {step}; "
                    f"lower the learning rate (lr={cfg.resolved_lr * factor:g})"
                )
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)  # a plain optimizer.step() when the scaler is disabled
            self.scaler.update()
            total_loss += loss_value * n_global
            correct += int(batch_correct)
            seen += n_global
            bar.update()
            bar.set_postfix(loss=f"{loss_value:.4f}")
        bar.close()
        return {
            "epoch": epoch,
            "train_loss": total_loss / seen,
            "train_accuracy": correct / seen,
            "lr": cfg.resolved_lr * factor,
            "seconds": time.perf_counter() - started,
        }

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        return evaluate_logits(
            predict_logits(self.loss_model, x.contiguous(memory_format=self.memory_format) if x.dim() == 4 else x), y
        )

    def run(self) -> History:
        cfg, main = self.config, self.dist.is_main
        if self.out is not None and main:
            runs.write_run_config(self.out, cfg, self.net, self.data)
        started = time.perf_counter()
        train_seconds = sum(r.get("seconds", 0.0) for r in self.history.epochs)
        for epoch in range(self.start_epoch, cfg.epochs + 1):
            record = self.train_epoch(epoch)
            if main:  # the other ranks wait for rank 0's record, so that all take the same decisions
                if len(self.y_val):
                    record.update({f"val_{k}": v for k, v in self.evaluate(self.x_val, self.y_val).items()})
                if cfg.eval_every_epoch or epoch == cfg.epochs:
                    record.update({f"test_{k}": v for k, v in self.evaluate(self.x_test, self.y_test).items()})
            record = distributed.broadcast(record, self.dist)
            train_seconds += record["seconds"]
            self.history.epochs.append(record)
            self.log(_epoch_line(record, cfg.epochs))
            if self.out is not None and main:
                runs.write_metrics(self.out, self.history.epochs)
            stop = distributed.broadcast([cb.on_epoch_end(epoch, record, self) for cb in self.callbacks], self.dist)
            if any(stop):
                self.history.stopped_early = epoch
                self.log(f"early stopping at epoch {epoch}")
                break
        final = distributed.broadcast(self.evaluate(self.x_test, self.y_test) if main else None, self.dist)
        self.history.final = {
            "test_accuracy": final["accuracy"],
            "test_loss": final["loss"],
            "train_seconds": train_seconds,
            "wall_seconds": time.perf_counter() - started,
            "epochs": len(self.history.epochs),
            "params": sum(p.numel() for p in self.net.parameters()),
            "model": getattr(self.net, "spec_text", type(self.net).__name__),
            "dataset": self.data.name,
            "run_dir": str(self.out) if self.out is not None else None,
        }
        if self.out is not None:
            if main:
                runs.write_run_results(self.out, self.net, self.history)
            distributed.barrier(self.dist)  # no rank returns before the run folder is complete
        return self.history


def _epoch_line(record: dict, epochs: int) -> str:
    parts = [
        f"epoch {record['epoch']:>3}/{epochs}",
        f"loss {record['train_loss']:.4f}",
        f"acc {record['train_accuracy']:.4f}",
    ]
    for prefix in ("val", "test"):
        if f"{prefix}_loss" in record:
            parts.append(
                f"{prefix}_loss {record[f'{prefix}_loss']:.4f} {prefix}_acc {record[f'{prefix}_accuracy']:.4f}"
            )
    parts.append(f"lr {record['lr']:.3g}  {record['seconds']:.1f}s")
    return "  ".join(parts)


def load_data(config: TrainConfig) -> Dataset:
    """The dataset a config names (from the registry in :mod:`cnnlab.data`)."""
    from cnnlab.data import load_dataset

    return load_dataset(config.dataset, data_dir=config.data_dir)


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
        callbacks: extra callbacks (early stopping and checkpointing come from the config).
        resume: a checkpoint (or run folder) to continue from.
        log: where the one-line-per-epoch summary goes (``print`` for the CLI); None = silent.
        net: a prebuilt network mapping normalised inputs to logits, trained instead of building
            ``config.model`` (e.g. a wrapper such as the Ising classifier's spin-flip symmetrisation).

    Started by ``torchrun`` (``RANK``/``WORLD_SIZE`` set), every process calls ``fit`` with the same
    arguments and they train together with DistributedDataParallel (see :mod:`cnnlab.train.distributed`).
    """
    with distributed.process_group(pick_device(config.device)) as dist:
        trainer = Trainer(config, dataset, out, callbacks, log, progress, dist, net=net)
        if resume is not None:
            path = Path(resume)
            trainer.resume(path / "checkpoint-last.safetensors" if path.is_dir() else path)
        return trainer.run()
