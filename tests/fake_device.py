"""A fake accelerator for CPU-only test machines: tensors that live "elsewhere" and refuse to mix with CPU tensors.

What goes wrong on a GPU and never on a CPU is mixing devices: a CUDA network called on CPU
inputs, ``.numpy()`` on a CUDA tensor. This helper reproduces exactly those failures without a GPU.
A tensor on the fake device is a wrapper subclass whose ``device`` reads ``meta`` and which holds a
real CPU tensor inside; every operation on it runs on the CPU and wraps its result again. As on
CUDA:

* an operation that mixes fake tensors with CPU tensors of one or more dimensions raises
  "Expected all tensors to be on the same device" (0-d CPU tensors are allowed, as CUDA allows them);
* ``.numpy()`` (and ``numpy.asarray``) raises; ``.item()``, ``.tolist()``, ``.cpu()`` and ``copy_``
  across devices work.

``x.to(FAKE)``, ``module.to(FAKE)`` and factories with ``device=FAKE`` need the :class:`FakeDevice`
mode to be active (``torch.tensor(data, device=...)`` bypasses dispatch, so the mode wraps it itself);
fake tensors made inside the mode keep working after it.

Example:
    >>> with FakeDevice():
    ...     net = torch.nn.Linear(3, 2).to(FAKE)
    ...     net(torch.zeros(1, 3).to(FAKE)).cpu().shape
    torch.Size([1, 2])
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map

FAKE = torch.device("meta")
#: Operations that may take tensors from two devices (copies), as on CUDA.
CROSS_DEVICE = {torch.ops.aten.copy_.default, torch.ops.aten._to_copy.default}


class OnFake(torch.Tensor):
    """A tensor on the fake device (its data: ``elem``, a CPU tensor)."""

    elem: torch.Tensor

    @staticmethod
    def __new__(cls, elem: torch.Tensor):
        return torch.Tensor._make_wrapper_subclass(
            cls,
            elem.shape,
            strides=elem.stride(),
            storage_offset=elem.storage_offset(),
            dtype=elem.dtype,
            layout=elem.layout,
            device=FAKE,
            requires_grad=elem.requires_grad,
        )

    def __init__(self, elem: torch.Tensor):
        self.elem = elem

    def __repr__(self) -> str:
        return f"OnFake({self.elem!r})"

    def tolist(self):
        return self.elem.tolist()

    def numpy(self, *args, **kwargs):
        raise TypeError(
            "can't convert fake-accelerator device type tensor to numpy. "
            "Use Tensor.cpu() to copy the tensor to host memory first."
        )

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


def _run(func, args, kwargs):
    leaves = tree_leaves((args, kwargs))
    fake = any(isinstance(a, OnFake) for a in leaves)
    plain = [a for a in leaves if type(a) is torch.Tensor and a.dim() > 0]
    if fake and plain and func not in CROSS_DEVICE:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"fake accelerator and cpu! (in {func})"
        )
    args, kwargs = tree_map(lambda a: a.elem if isinstance(a, OnFake) else a, (args, kwargs))
    to_fake = fake
    target = kwargs.get("device")
    if target is not None:
        target = torch.device(target)
        to_fake = target.type == FAKE.type
        if to_fake:
            kwargs = dict(kwargs, device=torch.device("cpu"))
    if func is torch.ops.aten.copy_.default:  # the destination decides where the result lives
        to_fake = isinstance(leaves[0], OnFake)
    out = func(*args, **kwargs)
    if func is torch.ops.aten.copy_.default and to_fake:
        return leaves[0]
    if not to_fake:
        return out
    # Wrappers made outside inference mode: autograd's view tracking cannot touch an inference tensor's version counter.
    with torch.inference_mode(False):
        return tree_map(lambda t: OnFake(t) if type(t) is torch.Tensor else t, out)


class FakeDevice(TorchDispatchMode):
    """While active, ``FAKE`` is a working device: moves and factories onto it make :class:`OnFake` tensors."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})

    def __enter__(self):
        self._tensor = torch.tensor

        def tensor(data, *args, device=None, **kwargs):
            if device is not None and torch.device(device).type == FAKE.type:
                return OnFake(self._tensor(data, *args, **kwargs))
            return self._tensor(data, *args, device=device, **kwargs)

        torch.tensor = tensor
        return super().__enter__()

    def __exit__(self, *exc):
        torch.tensor = self._tensor
        return super().__exit__(*exc)
