"""Softmax cross-entropy, the classifier's loss, with its gradient with respect to the logits.

For logits z of one example and its true class y::

    L = -log softmax(z)_y = logsumexp(z) - z_y,      dL/dz = softmax(z) - onehot(y)

averaged over the batch. Computing ``log softmax`` as ``z - logsumexp(z)`` with the max shifted
out keeps it finite for any logits (a naive ``log(exp(z) / sum exp(z))`` overflows at z ~ 710
in float64 and gives ``log(0)`` for very negative z).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CrossEntropyLoss", "cross_entropy", "log_softmax"]


def log_softmax(z: np.ndarray) -> np.ndarray:
    """``z - logsumexp(z)`` over the last axis, stable for any logits.

    Example:
        >>> log_softmax(np.array([[1000., 0.]])).round(6)
        array([[    0., -1000.]])
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy over the batch and its gradient with respect to the logits.

    Args:
        logits: ``(N, K)`` unnormalised scores (no softmax applied).
        targets: ``(N,)`` integer class labels in ``[0, K)``.

    Returns:
        ``(loss, grad)`` with grad ``(N, K)`` = (softmax - onehot) / N, in the logits' dtype.

    Example:
        Two classes with equal scores: loss log 2, gradient pushes the true class up.

        >>> loss, grad = cross_entropy(np.array([[0., 0.]]), np.array([1]))
        >>> round(loss, 6), grad
        (0.693147, array([[ 0.5, -0.5]]))
    """
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, K), got shape {logits.shape}")
    if targets.shape != (logits.shape[0],) or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(
            f"targets must be {logits.shape[0]} integer labels (shape ({logits.shape[0]},)), "
            f"got shape {targets.shape} of dtype {targets.dtype}"
        )
    k = logits.shape[1]
    if targets.size and (targets.min() < 0 or targets.max() >= k):
        raise ValueError(
            f"targets must be class labels in [0, {k}), got values from {targets.min()} to {targets.max()}"
        )
    n = logits.shape[0]
    log_p = log_softmax(logits)  # (N, K)
    rows = np.arange(n)
    loss = -log_p[rows, targets].mean()
    grad = np.exp(log_p)  # softmax
    grad[rows, targets] -= 1  # minus onehot
    return float(loss), grad / n


class CrossEntropyLoss:
    """``loss, grad = CrossEntropyLoss()(logits, targets)``: mean softmax cross-entropy (as
    ``torch.nn.CrossEntropyLoss``) and dLoss/dlogits, ready for ``model.backward(grad)``.

    Example:
        >>> loss, grad = CrossEntropyLoss()(np.array([[2., 0.], [0., 2.]]), np.array([0, 1]))
        >>> round(loss, 4), grad.shape
        (0.1269, (2, 2))
    """

    def __call__(self, logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
        return cross_entropy(logits, targets)

    def __repr__(self) -> str:
        return "CrossEntropyLoss()"
