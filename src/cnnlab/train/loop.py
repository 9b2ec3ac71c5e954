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
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from tqdm import tqdm

from cnnlab import engine
from cnnlab.data.dataset import Dataset
from cnnlab.train import checkpoint as ckpt
from cnnlab.train import runs
from cnnlab.train.callbacks import Callback, Checkpoint, EarlyStopping, History, NonFiniteLossError
from cnnlab.train.config import TrainConfig
from cnnlab.train.optim import lr_factor, make_optimizer


def pick_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device must be cpu or auto on this machine: --device cuda given but no CUDA GPU is available")
    return torch.device("cuda" if name in ("auto", "cuda") and torch.cuda.is_available() else "cpu")


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
    out = torch.cat([net(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])
    net.train(was_training)
    return out


def evaluate_logits(logits: torch.Tensor, y: torch.Tensor) -> dict:
    """Mean cross-entropy and accuracy of logits against labels."""
    return {"loss": F.cross_entropy(logits, y).item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}


class Trainer:
    """Holds the state of one run; :func:`fit` is the usual entry point."""

    def __init__(self, config: TrainConfig, dataset: Dataset | None = None, out: str | Path | None = None,
                 callbacks: Sequence[Callback] = (), log: Callable[[str], None] | None = print,
                 progress: bool | None = None):
        self.config = config.validate()
        self.out = Path(out) if out is not None else None
        self.log = log or (lambda message: None)
        self.progress = sys.stderr.isatty() if progress is None else progress
        if config.threads:
            torch.set_num_threads(config.threads)
        self.device = pick_device(config.device)
        self.data = dataset if dataset is not None else load_data(config)
        self._prepare_data()
        self.net = engine.build(config.model, self.data.input_shape, self.data.num_classes, seed=config.seed)
        self.memory_format = torch.channels_last if config.channels_last and len(self.data.input_shape) == 3 else torch.contiguous_format
        self.net.to(self.device, memory_format=self.memory_format)
        self.loss_model = self.net.logits_model()
        self.optimizer = make_optimizer(config, self.net.parameters())
        self.generator = torch.Generator().manual_seed(config.seed + 1)  # shuffling and augmentation
        torch.manual_seed(config.seed + 2)  # dropout
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
        n_val = int(round(cfg.val_split * len(y)))
        if cfg.val_split and n_val < 1:
            raise ValueError(f"val_split={cfg.val_split} leaves no validation example out of {len(y)}")
        self.x_val, self.y_val = x[order[:n_val]], y[order[:n_val]]
        train_index = order[n_val:]
        if cfg.train_subset:
            if cfg.train_subset > len(train_index):
                raise ValueError(f"train_subset must be <= {len(train_index)} (training examples available), got {cfg.train_subset}")
            train_index = train_index[:cfg.train_subset]
        self.x_train, self.y_train = x[train_index].contiguous(), y[train_index].contiguous()
        self.x_test, self.y_test = normalize(data.x_test, data.mean, data.std), data.y_test

    # ----------------------------------------------------------------------------------------------
    def save_checkpoint(self, name: str, epoch: int) -> None:
        rng = {"torch": torch.get_rng_state(), "generator": self.generator.get_state()}
        ckpt.save_checkpoint(self.out / name, self.net, self.optimizer, rng,
                             {"epoch": epoch, "history": self.history.epochs})

    def resume(self, path: str | Path) -> None:
        """Continue from a checkpoint written by this trainer (same config and dataset)."""
        position, rng = ckpt.load_checkpoint(path, self.net, self.optimizer)
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
        if "generator" in rng:
            self.generator.set_state(rng["generator"])
        self.history.epochs = list(position.get("history", []))
        self.start_epoch = int(position.get("epoch", 0)) + 1

    def _batches(self):
        n = len(self.y_train)
        order = torch.randperm(n, generator=self.generator)
        for start in range(0, n, self.config.batch_size):
            index = order[start:start + self.config.batch_size]
            x = self.x_train[index]
            if self.config.augment_shift:
                from cnnlab.data import random_translate
                x = random_translate(x, self.config.augment_shift, self.generator)
            yield x, self.y_train[index]

    def train_epoch(self, epoch: int) -> dict:
        cfg, net = self.config, self.net
        net.train()
        total_loss, correct, seen = 0.0, 0, 0
        started = time.perf_counter()
        bar = tqdm(total=self.steps_per_epoch, desc=f"epoch {epoch}/{cfg.epochs}", disable=not self.progress,
                   leave=False, file=sys.stderr, unit="step")
        for step, (x, y) in enumerate(self._batches(), start=1):
            global_step = (epoch - 1) * self.steps_per_epoch + step - 1
            factor = lr_factor(cfg, global_step, self.steps_per_epoch)
            for group in self.optimizer.param_groups:
                group["lr"] = cfg.resolved_lr * factor
            x = x.to(self.device, non_blocking=True).contiguous(memory_format=self.memory_format)
            y = y.to(self.device, non_blocking=True)
            logits = self.loss_model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                bar.close()
                raise NonFiniteLossError(f"loss became {loss_value} at epoch {epoch}, step {step}; "
                                         f"lower the learning rate (lr={cfg.resolved_lr * factor:g})")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total_loss += loss_value * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
            bar.update()
            bar.set_postfix(loss=f"{loss_value:.4f}")
        bar.close()
        return {"epoch": epoch, "train_loss": total_loss / seen, "train_accuracy": correct / seen,
                "lr": cfg.resolved_lr * factor, "seconds": time.perf_counter() - started}

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        return evaluate_logits(predict_logits(self.loss_model, x.contiguous(memory_format=self.memory_format)
                                              if x.dim() == 4 else x), y)

    def run(self) -> History:
        cfg = self.config
        if self.out is not None:
            runs.write_run_config(self.out, cfg, self.net, self.data)
        started = time.perf_counter()
        train_seconds = sum(r.get("seconds", 0.0) for r in self.history.epochs)
        for epoch in range(self.start_epoch, cfg.epochs + 1):
            record = self.train_epoch(epoch)
            train_seconds += record["seconds"]
            if len(self.y_val):
                record.update({f"val_{k}": v for k, v in self.evaluate(self.x_val, self.y_val).items()})
            if cfg.eval_every_epoch or epoch == cfg.epochs:
                record.update({f"test_{k}": v for k, v in self.evaluate(self.x_test, self.y_test).items()})
            self.history.epochs.append(record)
            self.log(_epoch_line(record, cfg.epochs))
            if self.out is not None:
                runs.write_metrics(self.out, self.history.epochs)
            stop = [cb.on_epoch_end(epoch, record, self) for cb in self.callbacks]
            if any(stop):
                self.history.stopped_early = epoch
                self.log(f"early stopping at epoch {epoch}")
                break
        final = self.evaluate(self.x_test, self.y_test)
        self.history.final = {
            "test_accuracy": final["accuracy"], "test_loss": final["loss"],
            "train_seconds": train_seconds, "wall_seconds": time.perf_counter() - started,
            "epochs": len(self.history.epochs), "params": self.net.num_params,
            "model": self.net.spec_text, "dataset": self.data.name,
            "run_dir": str(self.out) if self.out is not None else None,
        }
        if self.out is not None:
            runs.write_run_results(self.out, self.net, self.history)
        return self.history


def _epoch_line(record: dict, epochs: int) -> str:
    parts = [f"epoch {record['epoch']:>3}/{epochs}", f"loss {record['train_loss']:.4f}",
             f"acc {record['train_accuracy']:.4f}"]
    for prefix in ("val", "test"):
        if f"{prefix}_loss" in record:
            parts.append(f"{prefix}_loss {record[f'{prefix}_loss']:.4f} {prefix}_acc {record[f'{prefix}_accuracy']:.4f}")
    parts.append(f"lr {record['lr']:.3g}  {record['seconds']:.1f}s")
    return "  ".join(parts)


def load_data(config: TrainConfig) -> Dataset:
    """The dataset a config names (from the registry in :mod:`cnnlab.data`)."""
    from cnnlab.data import load_dataset
    return load_dataset(config.dataset, data_dir=config.data_dir)


def fit(config: TrainConfig, dataset: Dataset | None = None, out: str | Path | None = None,
        callbacks: Sequence[Callback] = (), resume: str | Path | None = None,
        log: Callable[[str], None] | None = None, progress: bool | None = None) -> History:
    """Train a network as ``config`` says; returns the :class:`History`.

    Args:
        config: the run's configuration.
        dataset: an already loaded dataset (else loaded from ``config.dataset``).
        out: run folder to write (config, metrics, checkpoints, weights, plot); None = nothing written.
        callbacks: extra callbacks (early stopping and checkpointing come from the config).
        resume: a checkpoint (or run folder) to continue from.
        log: where the one-line-per-epoch summary goes (``print`` for the CLI); None = silent.
    """
    trainer = Trainer(config, dataset, out, callbacks, log, progress)
    if resume is not None:
        path = Path(resume)
        trainer.resume(path / "checkpoint-last.safetensors" if path.is_dir() else path)
    return trainer.run()
