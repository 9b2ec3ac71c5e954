"""Tc without labels: learning by confusion, and principal component analysis.

**Learning by confusion** (van Nieuwenburg, Liu & Huber, Nat. Phys. 13, 435, 2017). Propose a
critical temperature T', label every configuration "T < T'" or not, train a classifier and
measure its test accuracy. At the ends of the range almost everything has one label and the
accuracy is high; in between, a wrong T' splits a phase in two and the network is confused. At
the true Tc the labels match the data's structure and the accuracy peaks again: the curve is
W-shaped, its middle peak at Tc.

**PCA** (Wang, Phys. Rev. B 94, 195105, 2016). The configurations, flattened to vectors of L*L
spins, have one dominant direction of variance: the first principal component is nearly uniform,
so the projection on it is the magnetization times L (|r| ~ 1). PCA finds the order parameter
without being told; its Binder cumulant ``U = 1 - <p^4> / (3 <p^2>^2)`` at two sizes crosses at Tc.

Example:
    >>> rng = np.random.default_rng(0)
    >>> ordered = np.sign(rng.random((50, 1, 1)) - 0.5) * np.ones((50, 6, 6))
    >>> disordered = rng.choice([-1.0, 1.0], size=(50, 6, 6))
    >>> pca = principal_components(np.concatenate([ordered, disordered]))
    >>> round(abs(float(pca.components[0].sum())) / 6, 2)   # first component: uniform, |w_i| = 1/L
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cnnlab.physics.phases import DENSE_SPEC, classifier, predict_ordered, train_classifier

__all__ = ["PCA", "binder", "confusion", "confusion_peak", "principal_components"]


def confusion(
    spins: np.ndarray,
    temperatures: np.ndarray,
    proposals,
    *,
    spec: str = DENSE_SPEC,
    epochs: int = 5,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    device: str = "cpu",
    threads: int = 0,
) -> np.ndarray:
    """Test accuracy of a classifier trained with labels ``T < T'`` for each proposed T'.

    Args:
        spins: (N, L, L) configurations in {-1, +1}; temperatures: (N,).
        proposals: the proposed critical temperatures T'.

    Half of the configurations at every temperature train, the other half test (the same split
    for every T'); each network starts from the same seed. The accuracy weighs each temperature
    by its share of the temperature axis (half the distance to its neighbours), so a grid that is
    finer near Tc, with more samples there, gives the accuracy of uniform sampling in T.

    Shape: returns (len(proposals),).
    """
    T = np.asarray(temperatures, dtype=float)
    rng = np.random.default_rng(seed)
    halves: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for t in np.unique(T):
        idx = rng.permutation(np.flatnonzero(t == T))
        halves[0].append(idx[: len(idx) // 2])
        halves[1].append(idx[len(idx) // 2 :])
    train, test = np.concatenate(halves[0]), np.concatenate(halves[1])
    grid = np.unique(T)
    edges = np.concatenate([[grid[0]], (grid[:-1] + grid[1:]) / 2, [grid[-1]]])
    weights = np.diff(edges) / np.diff(edges).sum() if len(grid) > 1 else np.ones(1)
    x = torch.as_tensor(spins, dtype=torch.float32).unsqueeze(1)  # (N, 1, L, L)
    L = spins.shape[-1]
    accuracy = []
    for proposal in proposals:
        labels = torch.as_tensor(proposal > T, dtype=torch.int64)
        net = classifier(spec, L, seed)
        train_classifier(
            net,
            x[train],
            labels[train],
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            device=device,
            threads=threads,
        )
        correct = (predict_ordered(net, x[test]) > 0.5) == labels[test].numpy().astype(bool)
        # Each temperature weighs its share of the T axis, whatever its number of samples.
        per_t = np.array([correct[T[test] == t].mean() for t in grid])
        accuracy.append(float(np.sum(per_t * weights)))
    return np.array(accuracy)


def confusion_peak(proposals, accuracy) -> float:
    """The middle peak of a W-shaped accuracy curve: the largest interior local maximum.

    Refined by the parabola through it and its two neighbours; NaN without an interior maximum.

    Example:
        >>> round(confusion_peak([1, 2, 3, 4, 5, 6, 7], [1.0, 0.8, 0.9, 1.0, 0.9, 0.8, 1.0]), 6)
        4.0
    """
    x, y = np.asarray(proposals, dtype=float), np.asarray(accuracy, dtype=float)
    interior = [i for i in range(1, len(y) - 1) if y[i] >= y[i - 1] and y[i] >= y[i + 1] and y[i] > min(y)]
    if not interior:
        return float("nan")
    i = max(interior, key=lambda k: y[k])
    a, b, _ = np.polyfit(x[i - 1 : i + 2], y[i - 1 : i + 2], 2)
    if a >= 0:  # flat top: no curvature to refine with
        return float(x[i])
    return float(np.clip(-b / (2 * a), x[i - 1], x[i + 1]))


@dataclass
class PCA:
    """Principal components of flattened configurations.

    Attributes:
        components: (k, L*L) unit vectors, by decreasing variance.
        explained: (k,) share of the total variance of each component.
        mean: (L*L,) the mean configuration that was subtracted.
    """

    components: np.ndarray
    explained: np.ndarray
    mean: np.ndarray

    def project(self, spins: np.ndarray, centred: bool = True) -> np.ndarray:
        """Coordinates of configurations (N, L, L) on the components: (N, k).

        ``centred=False`` projects the spins themselves: for the first component that is
        ``+-L m`` exactly symmetric under a global flip (the sample mean is never exactly zero),
        which is what a Binder cumulant needs.
        """
        x = np.asarray(spins, dtype=np.float64).reshape(len(spins), -1)
        return (x - self.mean if centred else x) @ self.components.T


def principal_components(spins: np.ndarray, k: int = 2) -> PCA:
    """The first ``k`` principal components of configurations (N, L, L).

    From the eigenvectors of the (L*L) x (L*L) covariance matrix, so the cost is set by L, not N.
    """
    x = np.asarray(spins, dtype=np.float64).reshape(len(spins), -1)
    mean = x.mean(axis=0)
    centred = x - mean
    covariance = centred.T @ centred / len(x)
    values, vectors = np.linalg.eigh(covariance)  # ascending
    order = np.argsort(values)[::-1][:k]
    return PCA(vectors[:, order].T, values[order] / values.sum(), mean)


def binder(p: np.ndarray) -> float:
    """Binder cumulant ``1 - <p^4> / (3 <p^2>^2)`` of samples p (2/3 ordered, 0 Gaussian)."""
    p = np.asarray(p, dtype=np.float64)
    m2 = np.mean(p**2)
    return float(1 - np.mean(p**4) / (3 * m2**2)) if m2 > 0 else 0.0
