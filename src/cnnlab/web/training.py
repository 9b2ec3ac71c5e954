"""A short training run started from the page: :func:`cnnlab.train.fit` in a background thread.

The page polls :meth:`TrainingJob.status` and redraws the accuracy curve and the first conv
layer's filters after every epoch. One run at a time; nothing is written to disk. The defaults are
the registry's ``page`` recipe (:mod:`cnnlab.spec.presets`); a request is checked against the
page's bounds, then as a :class:`~cnnlab.train.TrainConfig`, and its spec is parsed once.

Example:
    >>> import torch
    >>> from cnnlab.data.dataset import Dataset
    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = torch.rand(128, 1, 28, 28, generator=g), torch.arange(128) % 10
    >>> job = TrainingJob(data=Dataset("toy", x, y, x, y, [str(i) for i in range(10)]))
    >>> job.start({"model": "conv(2,5)-relu-maxpool(4)-flatten-linear", "epochs": 2, "train_subset": 100}).join()
    >>> s = job.status()
    >>> s["state"], [e["epoch"] for e in s["epochs"]], len(s["filters"]["weight"])
    ('done', [1, 2], 2)
    >>> job.model_file()[:8]   # the trained network as a web model file, for the page's side-by-side view
    b'CNNLABWM'
"""

from __future__ import annotations

import threading
import time

import torch

from cnnlab import engine
from cnnlab import spec as S
from cnnlab.data.dataset import Dataset
from cnnlab.train.callbacks import Callback
from cnnlab.train.config import TrainConfig
from cnnlab.train.preflight import check_fits
from cnnlab.train.recipes import recipe

#: The page's training config before the request's options (the registry's ``page`` recipe).
PAGE = recipe("page")
#: The options a request may set, with their defaults (the page shows the spec as text).
DEFAULTS = {
    "model": S.PRESETS[PAGE.model].text if PAGE.model in S.PRESETS else PAGE.model,
    "epochs": PAGE.epochs,
    "train_subset": PAGE.train_subset,
    "lr": PAGE.lr,
    "seed": PAGE.seed,
}
LIMITS = {"epochs": (1, 30), "train_subset": (100, 60000)}
MAX_PARAMS = 1_000_000  # a page click should not start an hour-long run
MAX_MEMORY = 2 * 10**9  # bytes a page's run may need (training batch and evaluation, cnnlab.spec.estimate_memory)
INPUT_SHAPE, NUM_CLASSES = (1, 28, 28), 10  # the page trains on MNIST


class TrainingBusy(RuntimeError):
    """A run is already going."""


class _Recorder(Callback):
    """Keeps each epoch's record and a snapshot of the first conv layer's filters; stops on request."""

    def __init__(self, job: TrainingJob):
        self.job = job

    def on_epoch_end(self, epoch: int, record: dict, trainer) -> bool:
        keep = {
            k: record[k]
            for k in ("train_loss", "train_accuracy", "test_accuracy", "test_loss", "seconds")
            if k in record
        }
        with self.job.lock:
            self.job.epochs.append({"epoch": epoch} | keep)  # fit counts epochs from 1
            self.job.filters = _filters(trainer.net)
        return self.job.stop_requested.is_set()

    def on_batch_end(self, step: int, trainer) -> bool:
        return self.job.stop_requested.is_set()  # a stop takes effect within one batch


def _filters(net: engine.Network) -> dict | None:
    """The first conv layer's weights, as nested lists, with its index."""
    for i, layer in enumerate(net.layers):
        if isinstance(layer, S.Conv):
            conv = net[i]
            assert isinstance(conv, (torch.nn.Conv1d, torch.nn.Conv2d))  # as the spec says
            return {"layer": i, "weight": conv.weight.detach().cpu().tolist()}
    return None


class TrainingJob:
    """One background training run on MNIST (or on ``data``) at a time.

    Args:
        data: a loaded dataset; when None it is loaded on the first start with
            ``cnnlab.data.load_dataset("mnist", data_dir=data_dir, download=False)`` (the recipe's dataset).
        data_dir: folder with MNIST's IDX files.
    """

    def __init__(self, data: Dataset | None = None, data_dir: str | None = None):
        self.data, self.data_dir = data, data_dir
        self.lock = threading.Lock()
        self.stop_requested = threading.Event()
        self.thread: threading.Thread | None = None
        self.state = "idle"
        self.error: str | None = None
        self.config: dict | None = None
        self.epochs: list[dict] = []
        self.filters: dict | None = None
        self.initial_filters: dict | None = None
        self.final: dict = {}
        self.started = 0.0
        self.trained: engine.Network | None = None  # the finished run's network, until the next start
        self._model_file: bytes | None = None

    def validate(self, request: dict) -> tuple[dict, tuple[S.Layer, ...]]:
        """Page options merged into the defaults, checked, and the parsed network.

        Raises:
            ValueError: naming the field and the rule (the page's bounds, then TrainConfig's, then
                the network: its output, its parameters and its memory estimate against :data:`MAX_MEMORY`).
        """
        unknown = sorted(set(request) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; expected {', '.join(DEFAULTS)}")
        options = DEFAULTS | request
        for name, (low, high) in LIMITS.items():
            value = options[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
        if not isinstance(options["lr"], (int, float)) or isinstance(options["lr"], bool) or not 0 < options["lr"] <= 1:
            raise ValueError(f"lr must be a number in (0, 1], got {options['lr']!r}")
        if not isinstance(options["model"], str):
            raise ValueError(
                f"model must be a spec text like 'conv(6,5,p=2)-relu-maxpool(2)-flatten-linear', got {options['model']!r}"
            )
        config = self.train_config(options).validate()
        layers = S.resolve(options["model"], NUM_CLASSES)
        params = sum(info.params for info in S.analyze(layers, INPUT_SHAPE))  # counted before anything is allocated
        if params > MAX_PARAMS:
            raise ValueError(
                f"model has {params:,} parameters; the page trains at most {MAX_PARAMS:,} (use cnnlab train)"
            )
        n_test = len(self.data.y_test) if self.data is not None else 10_000  # MNIST's test set
        check_fits(
            config,
            INPUT_SHAPE,
            NUM_CLASSES,
            config.train_subset,
            n_test,
            limit=min(MAX_MEMORY, S.memory_limit()),
            hint="the page's limit; train larger networks with cnnlab train",
        )
        return options, layers

    def train_config(self, options: dict) -> TrainConfig:
        """The run's config: the ``page`` recipe with the request's options, on the loaded (or default) data."""
        data = self.data
        return PAGE.replace(
            model=options["model"],
            dataset=data.name if data is not None else PAGE.dataset,
            epochs=options["epochs"],
            lr=options["lr"],
            train_subset=min(options["train_subset"], len(data.y_train))
            if data is not None
            else options["train_subset"],
            seed=options["seed"],
        )

    def start(self, request: dict) -> threading.Thread:
        """Validate and start a run; raises :class:`TrainingBusy` while one is going."""
        options, layers = self.validate(request)
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                raise TrainingBusy("a training run is already going; stop it first")
            # fit trains this very network, so these are its initial filters.
            net = engine.build(layers, INPUT_SHAPE, seed=options["seed"])
            self.config, self.error, self.epochs, self.state = options, None, [], "loading data"
            self.initial_filters = self.filters = _filters(net)
            self.trained, self._model_file = None, None
            self.stop_requested.clear()
            self.started = time.perf_counter()
            self.thread = threading.Thread(
                target=self._run, args=(net, options), name="cnnlab-web-training", daemon=True
            )
            self.thread.start()
            return self.thread

    def stop(self) -> None:
        """Ask the run to stop: no optimizer step after the batch in progress (then the test set is evaluated)."""
        self.stop_requested.set()

    def _run(self, net: engine.Network, opts: dict) -> None:
        from cnnlab.train import fit

        try:
            if self.data is None:
                from cnnlab.data import load_dataset

                self.data = load_dataset(PAGE.dataset, data_dir=self.data_dir, download=False)
            with self.lock:
                self.state = "running"
            history = fit(
                self.train_config(opts), dataset=self.data, callbacks=[_Recorder(self)], progress=False, net=net
            )
            with self.lock:
                stopped = self.stop_requested.is_set() and history.stopped_early is not None
                self.state = "stopped" if stopped else "done"
                self.final = history.final
                self.trained = net.cpu().eval() if self.epochs else None
        except Exception as err:  # reported to the page: the thread has no one else to tell
            with self.lock:
                self.state, self.error = "error", f"{type(err).__name__}: {err}"

    def model_file(self) -> bytes | None:
        """The finished run's network as a web model file (:mod:`cnnlab.web.bundle`), or None before one finished.

        The page adds it next to the other networks; it is named ``trained`` and carries the run's
        dataset, epochs and last test accuracy.
        """
        from cnnlab.model import Model
        from cnnlab.web.runs import from_model

        with self.lock:
            net, epochs, data = self.trained, list(self.epochs), self.data
            if net is None or data is None:
                return None
            if self._model_file is None:
                facts = {"dataset": data.name, "epochs": len(epochs), "trained_by": "the page (cnnlab serve)"}
                if "test_accuracy" in epochs[-1]:
                    facts["test_accuracy"] = epochs[-1]["test_accuracy"]
                title = f"trained in the page ({len(epochs)} epoch{'s' if len(epochs) != 1 else ''})"
                model = Model(net, list(data.classes), list(data.mean), list(data.std))
                self._model_file = from_model(model, "trained", title=title, provenance=facts, dtype="float32")
            return self._model_file

    def status(self) -> dict:
        """State, options, per-epoch metrics and the first conv layer's filters (initial and latest)."""
        with self.lock:
            return {
                "state": self.state,
                "error": self.error,
                "config": self.config,
                "epochs": list(self.epochs),
                "filters": self.filters,
                "initial_filters": self.initial_filters,
                "seconds": round(time.perf_counter() - self.started, 1) if self.started else 0.0,
                "dataset": self.data.name if self.data is not None else PAGE.dataset,
            }
