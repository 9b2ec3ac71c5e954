"""Evaluating logits: the batched, eval-mode forward pass and the loss/accuracy of its result.

The trainer evaluates with these after every epoch (logits kept on the device, one read-back);
:class:`cnnlab.model.Model` predicts with them (logits returned on the CPU).

Example:
    >>> import torch
    >>> net = torch.nn.Linear(3, 2)
    >>> predict_logits(net, torch.zeros(5, 3), batch_size=2).shape
    torch.Size([5, 2])
    >>> evaluate_logits(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 0]))["accuracy"]
    0.5
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab.train.device import to_device_of


@torch.inference_mode()
def device_logits(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits for ``x`` (already normalised) in batches, model in eval mode; float32 on ``net``'s device.

    Inputs follow the model: each batch is moved to ``net``'s device (a no-op when ``x`` is there).
    """
    was_training = net.training
    net.eval()
    out = torch.cat([net(to_device_of(net, x[i : i + batch_size])).float() for i in range(0, len(x), batch_size)])
    net.train(was_training)
    return out


def predict_logits(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """:func:`device_logits` on the CPU: what callers that print, plot or convert to NumPy need."""
    return device_logits(net, x, batch_size).cpu()


def evaluate_logits(logits: torch.Tensor, y: torch.Tensor) -> dict:
    """Mean cross-entropy and accuracy of logits against labels (``y`` follows ``logits``' device; one read-back)."""
    y = y.to(logits.device)
    loss, accuracy = torch.stack([F.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()]).tolist()
    return {"loss": loss, "accuracy": accuracy}
