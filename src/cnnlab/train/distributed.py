"""Data-parallel training: process group, batch shards, collectives and the ``--nproc`` launcher.

One process per device ("rank"), started by ``torchrun`` (or by ``cnnlab train --nproc N``, which
starts them on this machine with torchrun's environment, :mod:`cnnlab.train.launcher`). Every rank holds the whole dataset in memory and draws the
same shuffled order from the same seeded generator; ``batch_size`` is the *global* batch, and at each
step rank ``r`` trains on its slice of that global batch. The loss is a sum scaled so that DDP's
gradient average equals the gradient of the global batch's mean loss: N processes take the same
steps as one process with the same ``batch_size``. Rank 0 alone logs and writes the run folder.
The per-step loss and accuracy stay on each device and are summed over the ranks once per read-back
interval (:attr:`cnnlab.train.Trainer.sync_every` steps, and at the end of each epoch), so that
every rank sees the same numbers and all stop together on a NaN.

A job started by torchrun is data-parallel even with one process (``torchrun --nproc-per-node 1``):
that is how the DDP path (NCCL on a GPU) is checked on a machine with a single device.

Backends: gloo on CPU, NCCL on CUDA (one GPU per process, ``cuda:LOCAL_RANK``). The steps of the
fit loop that differ from one process are :class:`DataParallel`'s; :func:`cnnlab.train.fit` uses it
when the process was started by torchrun.

Example:
    >>> ctx = Context(rank=1, world_size=2)
    >>> ctx.is_main, ctx.enabled
    (False, True)
    >>> Context().enabled, Context(launched=True).enabled   # one process: plain, unless torchrun started it
    (False, True)
    >>> shard(5, ctx)  # a global batch of 5 examples: rank 0 takes 3, rank 1 takes 2
    slice(3, 5, None)
    >>> check_batch_size(64, 3)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be divisible by the number of processes (global batch split evenly): 64 % 3 = 1; choose batch_size=63 or 66
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from cnnlab.train.config import TrainConfig


@dataclass(frozen=True)
class Context:
    """Where this process sits in the job.

    Attributes:
        rank: global rank, 0 .. world_size - 1 (rank 0 logs and writes files).
        world_size: number of processes (1 = ordinary single-process training).
        local_rank: rank on this machine (selects ``cuda:LOCAL_RANK``).
        launched: started by torchrun (``WORLD_SIZE`` in the environment), whatever the number of processes.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    launched: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """Whether this process trains data-parallel (several processes, or torchrun's single one)."""
        return self.world_size > 1 or self.launched


def env_context() -> Context:
    """The context torchrun describes in ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (absent: one plain process)."""
    values = {}
    for name, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)):
        text = os.environ.get(name, str(default))
        if not text.isdigit():
            raise ValueError(
                f"environment variable {name} must be a non-negative integer (set by torchrun), got {text!r}"
            )
        values[name] = int(text)
    if values["WORLD_SIZE"] < 1 or values["RANK"] >= values["WORLD_SIZE"]:
        raise ValueError(
            f"environment: need 0 <= RANK < WORLD_SIZE, got RANK={values['RANK']}, WORLD_SIZE={values['WORLD_SIZE']}"
        )
    return Context(values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"], "WORLD_SIZE" in os.environ)


def local_device(device: torch.device, ctx: Context) -> torch.device:
    """This rank's device: ``cuda:LOCAL_RANK`` for CUDA jobs, else ``device`` unchanged."""
    if device.type != "cuda" or not ctx.enabled:
        return device
    count = torch.cuda.device_count()
    if ctx.local_rank >= count:
        raise ValueError(
            f"LOCAL_RANK={ctx.local_rank} needs a GPU of its own, but this machine has {count}; "
            f"start at most {count} processes per node"
        )
    return torch.device("cuda", ctx.local_rank)


@contextmanager
def process_group(device: torch.device) -> Iterator[Context]:
    """Join the job's process group for the duration of the block (nothing to do for one process).

    Reads torchrun's environment (``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``);
    gloo for CPU, NCCL for CUDA. A group that already exists (the caller made it) is used as is.
    """
    ctx = env_context()
    if not ctx.enabled or dist.is_initialized():
        yield ctx
        return
    device = local_device(device, ctx)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield ctx
    finally:
        dist.destroy_process_group()


def check_batch_size(batch_size: int, world_size: int) -> None:
    """``batch_size`` is global; it must split evenly over the processes."""
    if batch_size % world_size:
        low = batch_size - batch_size % world_size
        choices = f"{low} or {low + world_size}" if low else f"{world_size}"
        raise ValueError(
            f"batch_size must be divisible by the number of processes (global batch split evenly): "
            f"{batch_size} % {world_size} = {batch_size % world_size}; choose batch_size={choices}"
        )


def check_devices(nproc: int, device: torch.device) -> None:
    """A CUDA job on one machine needs one GPU per process."""
    _check_nproc(nproc)
    if device.type == "cuda" and nproc > torch.cuda.device_count():
        raise ValueError(f"nproc={nproc} needs one GPU per process, but this machine has {torch.cuda.device_count()}")


def _check_nproc(nproc) -> None:
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be an integer >= 1, got {nproc!r}")
    # Each process holds torch and the whole dataset: more processes than cores only exhausts memory.
    most = max(4, os.cpu_count() or 1)
    if nproc > most:
        raise ValueError(f"nproc must be at most {most} on this machine (its cores, or 4), got {nproc}")


def check_last_batch(n_train: int, batch_size: int, world_size: int) -> None:
    """Every rank needs at least one example of the epoch's last (possibly short) batch."""
    last = n_train % batch_size
    if 0 < last < world_size:
        raise ValueError(
            f"the last batch of each epoch has {last} example(s) ({n_train} % {batch_size}), fewer than "
            f"the {world_size} processes; change batch_size or train_subset"
        )


def shard(n: int, ctx: Context) -> slice:
    """Rank ``ctx.rank``'s contiguous part of a global batch of ``n`` examples (sizes differ by at most 1)."""
    base, extra = divmod(n, ctx.world_size)
    start = ctx.rank * base + min(ctx.rank, extra)
    return slice(start, start + base + (ctx.rank < extra))


def sync_batchnorm(net: nn.Module, device: torch.device) -> nn.Module:
    """On CUDA, BatchNorm statistics over the global batch (as one process would compute them).

    ``SyncBatchNorm`` exists only for GPUs: on CPU each rank normalises with its own slice's
    statistics, so a BatchNorm network trained with gloo differs slightly from a single-process run.
    """
    return nn.SyncBatchNorm.convert_sync_batchnorm(net) if device.type == "cuda" else net


def all_sum(tensor: torch.Tensor, ctx: Context) -> torch.Tensor:
    """Element-wise sum of ``tensor`` over all ranks, in place, on its device (no host sync); returns it."""
    if ctx.enabled:
        dist.all_reduce(tensor)
    return tensor


def broadcast(obj, ctx: Context):
    """Rank 0's ``obj`` on every rank (so that all ranks take the same decisions)."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_rng(states: dict[str, torch.Tensor], ctx: Context) -> dict[str, torch.Tensor]:
    """Rank 0's RNG states plus every other rank's as ``NAME.rankR`` (for exact resume of dropout)."""
    if not ctx.enabled:
        return states
    everyone: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(everyone, {k: v.cpu() for k, v in states.items()})
    merged = dict(states)
    for rank, theirs in enumerate(everyone[1:], start=1):
        merged.update({f"{k}.rank{rank}": v for k, v in theirs.items()})
    return merged


def rng_key(name: str, ctx: Context) -> str:
    """The checkpoint key of this rank's RNG state ``name`` (see :func:`gather_rng`)."""
    return name if ctx.rank == 0 else f"{name}.rank{ctx.rank}"


def barrier(ctx: Context) -> None:
    if ctx.enabled:
        dist.barrier()


def check_launch(nproc: int) -> None:
    """``nproc`` processes may be started from here: a valid count, and this process is not itself one of a job."""
    _check_nproc(nproc)
    if env_context().enabled:
        raise ValueError(
            "--nproc starts its own processes; this process already runs under torchrun "
            "(use torchrun's --nproc-per-node instead)"
        )


def launch(args: Sequence[str], nproc: int) -> int:
    """Run ``python ARGS...`` in ``nproc`` processes of one job on this machine; returns the job's exit code.

    The processes get torchrun's environment and are stopped together (:mod:`cnnlab.train.launcher`).
    """
    check_launch(nproc)
    from cnnlab.train.launcher import launch as start

    return start(args, nproc)


class DataParallel:
    """The fit loop's steps that differ in a multi-process job (mixed into :class:`cnnlab.train.Trainer`).

    Every rank holds the whole dataset and draws the same shuffled (and augmented) global batch;
    rank ``r`` trains on its :func:`shard`. The loss is a sum scaled by ``world_size / n`` so that
    DDP's gradient average is the gradient of the global batch's mean loss, even when the last batch
    splits unevenly. Rank 0 evaluates, logs and writes; every decision (epoch record, early stop,
    final evaluation) is rank 0's, broadcast, so that all ranks take the same steps.
    """

    # Set by the Trainer this is mixed into (declared for type checkers).
    if TYPE_CHECKING:
        config: TrainConfig
        device: torch.device
        y_train: torch.Tensor

    def __init__(self, *args: Any, dist: Context, **kwargs: Any):
        self.dist = dist
        super().__init__(*args, **kwargs)

    @property
    def is_main(self) -> bool:
        return self.dist.is_main

    @property
    def dropout_offset(self) -> int:
        """Each rank draws its own dropout masks."""
        return self.dist.rank

    @property
    def world_size(self) -> int:
        return self.dist.world_size

    @property
    def backend(self) -> str | None:
        return str(dist.get_backend()) if dist.is_initialized() else None

    def set_up_device(self) -> torch.device:
        return local_device(super().set_up_device(), self.dist)  # type: ignore[misc]

    def set_up_network(self, net: nn.Module | None) -> nn.Module:
        net = super().set_up_network(net)  # type: ignore[misc]
        check_batch_size(self.config.batch_size, self.dist.world_size)
        check_last_batch(len(self.y_train), self.config.batch_size, self.dist.world_size)
        return sync_batchnorm(net, self.device)

    def wrap_for_training(self, model: nn.Module) -> nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
        """This rank's part of each global batch (augmented as a whole, so that the shared generator stays in step)."""
        for x, y, n in super().batches():  # type: ignore[misc]
            part = shard(n, self.dist)
            yield x[part], y[part], n

    def batch_loss(self, logits: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(sum * world_size / n to differentiate, this rank's sum of losses in float64 to report)."""
        loss_sum = F.cross_entropy(logits, y, label_smoothing=self.config.label_smoothing, reduction="sum")
        return loss_sum * (self.dist.world_size / n), loss_sum.detach().double()

    def combine_steps(self, steps: torch.Tensor) -> torch.Tensor:
        """The global batches' loss sums and correct counts: every rank sees them, so all stop together on a NaN."""
        return all_sum(steps, self.dist)

    def shared(self, value):
        return broadcast(value, self.dist)

    def rng_states(self) -> dict[str, torch.Tensor]:
        return gather_rng(super().rng_states(), self.dist)  # type: ignore[misc]

    def rng_key(self, name: str) -> str:
        return rng_key(name, self.dist)

    def finish(self) -> None:
        barrier(self.dist)  # no rank returns before the run folder is complete
