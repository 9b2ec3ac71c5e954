"""Evaluating a trained model (``cnnlab evaluate``): accuracy, loss, per-class accuracy, confusion matrix, worst mistakes.

Example:
    >>> import torch
    >>> confusion(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3).tolist()
    [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from cnnlab.io import make_folder
from cnnlab.model import Model


def confusion(pred: torch.Tensor, true: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts ``[true, predicted]``."""
    return torch.bincount(true * num_classes + pred, minlength=num_classes**2).view(num_classes, num_classes)


def evaluate_model(
    model: Model, x: torch.Tensor, y: torch.Tensor, out: str | Path | None = None, worst: int = 16
) -> dict:
    """Metrics of ``model`` on raw inputs ``x`` and labels ``y`` (on any device); plots go to ``out`` when given.

    Returns a dict with ``accuracy``, ``loss``, ``per_class_accuracy`` (class name -> accuracy),
    ``confusion`` (list of rows) and ``confidently_wrong`` (index, true, predicted, probability).
    """
    classes = model.classes
    if tuple(x.shape[1:]) != model.input_shape:
        raise ValueError(f"dataset inputs have shape {tuple(x.shape[1:])}, the model needs {model.input_shape}")
    if int(y.max()) >= len(classes):
        raise ValueError(f"dataset has labels up to {int(y.max())}, the model knows {len(classes)} classes")
    logits, y = model.predict_logits(x), y.cpu()  # logits come back on the CPU: the labels join them
    prob = logits.softmax(-1)
    pred = prob.argmax(1)
    matrix = confusion(pred, y, len(classes))
    per_class = (matrix.diag().float() / matrix.sum(1).clamp(min=1).float()).tolist()
    wrong = (pred != y).nonzero().flatten()
    order = wrong[prob[wrong, pred[wrong]].argsort(descending=True)][:worst]
    mistakes = [
        {
            "index": int(i),
            "true": classes[int(y[i])],
            "predicted": classes[int(pred[i])],
            "probability": float(prob[i, pred[i]]),
        }
        for i in order
    ]
    result = {
        "accuracy": float((pred == y).float().mean()),
        "loss": float(F.cross_entropy(logits, y)),
        "examples": len(y),
        "per_class_accuracy": dict(zip(classes, per_class)),
        "confusion": matrix.tolist(),
        "confidently_wrong": mistakes,
    }
    if out is not None:
        from cnnlab import plots

        out = Path(out)
        make_folder(out)
        plots.confusion_matrix(matrix.numpy(), classes, out / "confusion_matrix.png")
        if len(order) and x.dim() == 4:
            captions = [f"{m['true']}→{m['predicted']} ({m['probability']:.2f})" for m in mistakes]
            plots.image_grid(
                x[order.to(x.device), 0].cpu().numpy(),
                captions,
                out / "confidently_wrong.png",
                title="most confidently wrong (true→predicted)",
            )
        result["plots"] = sorted(str(p) for p in out.glob("*.png"))
    return result
