"""The trained model: one handle for inference, whoever trained it.

A :class:`Model` is an engine network in eval mode together with what it needs to be fed raw inputs
(the training set's normalisation) and to name its outputs (the classes). It comes from a run
folder (:meth:`Model.from_run`, what ``cnnlab.load`` returns), from the networks shipped with the
package (:meth:`Model.from_assets`), or from a network trained in memory. ``cnnlab predict``,
``cnnlab evaluate``, ``cnnlab export``, the experiments and the web visualiser all use it.

Inputs are raw (images in [0, 1], as the dataset gives them), ``(N, *input_shape)`` or one example
``input_shape``, on any device; they are moved to the model's device and normalised there
(:func:`cnnlab.train.device.to_device_of`, the one rule every inference path follows). Outputs
(logits, probabilities, activations) come back on the CPU, ready for NumPy and plots.

Example:
    >>> import tempfile
    >>> from cnnlab.train import TrainConfig, fit
    >>> out = tempfile.mkdtemp()
    >>> _ = fit(TrainConfig(model="logreg", dataset="digits", epochs=1, lr=0.05), out=out)
    >>> model = Model.from_run(out)
    >>> model.spec, model.input_shape, model.classes[:3]
    ('flatten-linear(10)', (1, 8, 8), ['0', '1', '2'])
    >>> model.predict_proba(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    >>> [tuple(a.shape) for a in model.activations(torch.zeros(1, 8, 8))]
    [(1, 64), (1, 10)]
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from cnnlab import engine
from cnnlab import spec as S
from cnnlab.data.normalization import normalize
from cnnlab.train.checkpoint import CheckpointError, check_shapes, load_model_state
from cnnlab.train.device import to_device_of
from cnnlab.train.evaluation import predict_logits
from cnnlab.train.runs import read_run_config

__all__ = ["ASSETS", "SHIPPED", "Model"]

ASSETS = Path(__file__).resolve().parent / "assets"
#: The run folders shipped with the package (the visualiser's two MNIST networks), by name.
SHIPPED = {"mlp": ASSETS / "web-mlp", "cnn": ASSETS / "web-cnn"}


@dataclass
class Model:
    """A trained network ready for inference: normalises its inputs and names its classes.

    Attributes:
        net: the engine network, in eval mode.
        classes: a name per output.
        mean, std: the training set's per-channel normalisation.
        config: the run's ``config.json`` as a dict (provenance included); empty for a network
            trained in memory.
        name: what the web API and reports call it (default: the run folder's name).
        run_dir: the run folder it was loaded from, or None.
    """

    net: engine.Network
    classes: list[str]
    mean: list[float]
    std: list[float]
    config: dict = field(default_factory=dict)
    name: str = ""
    run_dir: Path | None = None

    def __post_init__(self) -> None:
        self.net.eval()

    @property
    def spec(self) -> str:
        """The network's text spec (classes filled in)."""
        return self.net.spec_text

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape, e.g. ``(1, 28, 28)``."""
        return self.net.input_shape

    @classmethod
    def from_run(cls, run_dir: str | Path, weights: str = "model.safetensors", name: str | None = None) -> Model:
        """Load a run folder written by ``cnnlab train`` (or a training checkpoint in it).

        Args:
            run_dir: a folder holding ``config.json`` and the weights.
            weights: ``model.safetensors`` (the final weights), or a checkpoint such as
                ``checkpoint-best.safetensors``; float16 storage is cast to float32.
            name: the model's name; default: the folder's name.

        Everything is checked before it is allocated: ``config.json``'s fields, the spec's shapes, the
        memory the network needs (:func:`cnnlab.spec.estimate_memory`, against
        :func:`cnnlab.spec.memory_limit`) and the weights file's header; weights with NaN or infinite
        values are refused.

        Raises:
            FileNotFoundError: no such folder, no ``config.json``, or no weights file.
            ValueError: ``config.json`` lacks a key or has a bad value, the network does not fit its
                input or its classes, or needs more memory than the limit;
                :class:`~cnnlab.train.CheckpointError` when the weights are corrupted, made for another
                network, or not finite.
        """
        run_dir = Path(run_dir)
        config = read_run_config(run_dir)
        shape = tuple(config["input_shape"])
        # Shapes and memory first, from the spec alone: a crafted folder is refused before anything is allocated.
        rows = S.analyze(config["spec"], shape)
        if rows[-1].out_shape != (len(config["classes"]),):
            raise ValueError(
                f"{run_dir / 'config.json'}: the network's output is {S.shape_text(rows[-1].out_shape)} "
                f"but classes names {len(config['classes'])}"
            )
        S.estimate_memory(config["spec"], shape).check(
            S.memory_limit(), f"run {run_dir}'s network", "set CNNLAB_MEMORY_LIMIT to allow more"
        )
        path = run_dir / weights
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir} has no {weights}; did training finish? (try --resume)")
        prefix = _weights_prefix(path, _expected_shapes(config["spec"], shape))
        net = engine.build(config["spec"], shape)
        try:
            tensors = load_file(path)
        except (SafetensorError, OSError) as err:
            raise CheckpointError(f"{path} is corrupted or not a safetensors file ({err})") from None
        if prefix:  # a training checkpoint: model.*, optim.*, rng.*
            load_model_state(net, {k: v for k, v in tensors.items() if k.startswith(prefix)}, path)
        else:
            load_model_state(net, {f"model.{k}": v for k, v in tensors.items()}, path)
        normalization = config["normalize"]
        return cls(
            net,
            [str(c) for c in config["classes"]],
            list(normalization["mean"]),
            list(normalization["std"]),
            config,
            name or run_dir.resolve().name,
            run_dir,
        )

    @classmethod
    def from_assets(cls, name: str) -> Model:
        """One of the networks shipped with the package: ``mlp`` (784-300-100-10) or ``cnn`` (LeNet-like).

        Example:
            >>> Model.from_assets("cnn").spec
            'conv(6,5,p=2)-relu-maxpool(2)-conv(16,5)-relu-maxpool(2)-flatten-linear(120)-relu-linear(84)-relu-linear(10)'
        """
        if name not in SHIPPED:
            raise ValueError(f"name must be one of the shipped models {', '.join(SHIPPED)}, got {name!r}")
        return cls.from_run(SHIPPED[name], name=name)

    @functools.cached_property
    def max_batch(self) -> int:
        """The most examples one forward pass may take within :func:`cnnlab.spec.memory_limit` (from the estimate)."""
        one = S.estimate_memory(self.net.layers, self.input_shape, batch_size=1)
        return max(1, (S.memory_limit() - 4 * one.params) // max(1, one.nbytes - 4 * one.params))

    def to(self, device: str | torch.device) -> Model:
        """Move the network (in place) to ``device``; inputs follow it. Returns self."""
        self.net.to(device)
        return self

    def normalize(self, x: torch.Tensor | Sequence) -> torch.Tensor:
        """Raw inputs (on any device) as the network sees them: float32, batched, on its device, ``(x - mean) / std``."""
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() == len(self.input_shape):
            x = x.unsqueeze(0)  # one example
        return normalize(to_device_of(self.net, x), self.mean, self.std)

    def predict_logits(self, x: torch.Tensor | Sequence, batch_size: int = 1000) -> torch.Tensor:
        """Logits ``(N, classes)`` on the CPU for raw inputs, in batches (a final softmax layer is skipped).

        A batch is never larger than :attr:`max_batch`, so a network with large activations
        evaluates a test set within the memory limit.

        Shape:
            ``x``: ``(N, *input_shape)`` or one example ``input_shape``.
        """
        return predict_logits(self.net.logits_model(), self.normalize(x), min(batch_size, self.max_batch))

    def predict_proba(self, x: torch.Tensor | Sequence, batch_size: int = 1000) -> torch.Tensor:
        """Class probabilities ``(N, classes)`` for raw inputs (softmax of :meth:`predict_logits`)."""
        return self.predict_logits(x, batch_size).softmax(-1)

    @torch.inference_mode()
    def activations(self, x: torch.Tensor | Sequence) -> list[torch.Tensor]:
        """Every layer's output for raw inputs, in order (layer ``i`` of the spec is entry ``i``), on the CPU.

        Shape:
            entry ``i``: ``(N, *out_shape_i)`` as :func:`cnnlab.spec.analyze` gives ``out_shape``.
        """
        return [a.cpu() for a in self.net.features(self.normalize(x))]


def _expected_shapes(spec: str, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of the network's ``state_dict``, from a build on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in engine.build(spec, input_shape).state_dict().items()}


def _weights_prefix(path: Path, expected: dict[str, tuple[int, ...]]) -> str:
    """Check a weights file's header against ``expected`` before its data is read; ``"model."`` for a checkpoint.

    Raises:
        CheckpointError: not a safetensors file, or tensors of another network.
    """
    try:
        with safe_open(path, framework="pt") as handle:  # reads the header; the data stays on disk
            shapes = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is corrupted or not a safetensors file ({err})") from None
    prefix = "model." if any(k.startswith("model.") for k in shapes) else ""
    found = {k[len(prefix) :]: v for k, v in shapes.items() if k.startswith(prefix)}
    check_shapes(expected, found, path)
    return prefix
