"""The fast engine: a PyTorch ``nn.Module`` built from a layer spec.

Module ``i`` of the built network is layer ``i`` of the spec, so parameter names (``"0.weight"``,
``"3.bias"``, ...) are the same in the engine, in the NumPy reference and in saved checkpoints.

Example:
    >>> import torch
    >>> net = build("lecture", (3, 6, 6), num_classes=10)
    >>> net(torch.zeros(4, 3, 6, 6)).shape
    torch.Size([4, 10])
    >>> net.num_params
    146
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from cnnlab import spec as S


class GlobalAvgPool(nn.Module):
    """Mean over every spatial position of each channel: ``(N, C, *spatial) -> (N, C)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(-1)  # (N, C)


def _module(layer: S.Layer, in_shape: tuple[int, ...]) -> nn.Module:
    """One torch module for one layer spec, with the input's dimensionality (1-D or 2-D)."""
    dims = len(in_shape) - 1
    if isinstance(layer, S.Conv):
        conv = nn.Conv1d if dims == 1 else nn.Conv2d
        return conv(
            in_shape[0],
            layer.out_channels,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            padding_mode=layer.padding_mode,
            bias=layer.bias,
        )
    if isinstance(layer, S.MaxPool):
        maxpool = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
        return maxpool(layer.kernel_size, stride=layer.step, padding=layer.padding)
    if isinstance(layer, S.AvgPool):
        avgpool = nn.AvgPool1d if dims == 1 else nn.AvgPool2d
        return avgpool(layer.kernel_size, stride=layer.step, padding=layer.padding)
    if isinstance(layer, S.BatchNorm):
        return (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(in_shape[0])
    if isinstance(layer, S.Linear):
        assert layer.out_features is not None, "analyze() gives every linear layer its size"
        return nn.Linear(in_shape[0], layer.out_features, bias=layer.bias)
    if isinstance(layer, S.Dropout):
        return nn.Dropout(layer.p)
    simple = {
        S.GlobalAvgPool: GlobalAvgPool,
        S.Flatten: nn.Flatten,
        S.ReLU: nn.ReLU,
        S.Tanh: nn.Tanh,
        S.Sigmoid: nn.Sigmoid,
    }
    if type(layer) in simple:
        return simple[type(layer)]()
    if isinstance(layer, S.Softmax):
        return nn.Softmax(dim=-1)
    raise TypeError(f"no engine module for layer {layer!r}")


class Network(nn.Sequential):
    """``nn.Sequential`` that remembers its spec and input shape and checks its input.

    Attributes:
        layers: the layer specs (classes filled in).
        input_shape: one example's shape ``(C, H, W)`` or ``(C, W)``.
        infos: :func:`cnnlab.spec.analyze` rows (shapes, parameters, receptive fields).
    """

    def __init__(self, layers: Sequence[S.Layer], input_shape: Sequence[int]):
        self.infos = S.analyze(layers, input_shape)
        super().__init__(*[_module(info.layer, info.in_shape) for info in self.infos])
        self.layers = tuple(layers)
        self.input_shape = tuple(input_shape)

    @property
    def spec_text(self) -> str:
        return S.to_text(self.layers)

    @property
    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def num_classes(self) -> int:
        return self.infos[-1].out_shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != len(self.input_shape) + 1 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"input must have shape (N, {', '.join(map(str, self.input_shape))}) "
                f"for this network, got {tuple(x.shape)}"
            )
        return super().forward(x)

    def logits_model(self) -> nn.Module:
        """The network without a final softmax (what a cross-entropy loss must be given)."""
        if self.layers and isinstance(self.layers[-1], S.Softmax):
            return nn.Sequential(*list(self)[:-1])
        return self

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's output for ``x`` (the visualiser's activations), in order."""
        outs = []
        for module in self:
            x = module(x)
            outs.append(x)
        return outs


def build(
    model: S.Spec, input_shape: Sequence[int], num_classes: int | None = None, seed: int | None = None
) -> Network:
    """Build the PyTorch network of a spec (preset name, text or list of layers).

    Args:
        model: e.g. ``"lenet"`` or ``"conv(16,5,p=2)-relu-maxpool(2)-flatten-linear"``.
        input_shape: one example's shape, channels first.
        num_classes: fills ``linear`` layers without a size.
        seed: when given, the initial weights are drawn from ``torch.Generator`` seeded with it.

    Raises:
        cnnlab.spec.SpecError: if a layer does not fit its input (names the layer).
    """
    layers = S.resolve(model, num_classes)
    if seed is None:
        return Network(layers, input_shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Network(layers, input_shape)


def to_numpy_state(net: nn.Module) -> dict[str, np.ndarray]:
    """Parameters and buffers as float64 NumPy arrays (for the reference), keyed like ``state_dict``."""
    return {
        k: v.detach().cpu().double().numpy().copy()
        for k, v in net.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def load_numpy_state(net: nn.Module, state: dict[str, np.ndarray]) -> None:
    """Copy NumPy arrays (e.g. from the reference) into ``net``; names and shapes must match."""
    own = net.state_dict()
    missing = sorted(k for k in own if k not in state and not k.endswith("num_batches_tracked"))
    unknown = sorted(k for k in state if k not in own)
    if missing or unknown:
        raise ValueError(f"state does not match the network: missing {missing}, unexpected {unknown}")
    with torch.no_grad():
        for key, value in state.items():
            if tuple(own[key].shape) != tuple(np.shape(value)):
                raise ValueError(
                    f"{key}: shape {tuple(np.shape(value))} does not match the network's {tuple(own[key].shape)}"
                )
            own[key].copy_(torch.as_tensor(np.asarray(value)))
