"""Evaluating logits: the batched, eval-mode forward pass and the loss/accuracy of its result.

The trainer evaluates with these after every epoch; :class:`cnnlab.model.Model` predicts with them.

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
def predict_logits(net: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Logits for ``x`` (already normalised) in batches on ``net``'s device, model in eval mode; float32 on the CPU."""
    was_training = net.training
    net.eval()
    out = torch.cat([net(to_device_of(net, x[i : i + batch_size])).float().cpu() for i in range(0, len(x), batch_size)])
    net.train(was_training)
    return out


def evaluate_logits(logits: torch.Tensor, y: torch.Tensor) -> dict:
    """Mean cross-entropy and accuracy of logits against labels."""
    return {"loss": F.cross_entropy(logits, y).item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}
