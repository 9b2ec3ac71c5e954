"""Datasets that need no download: scikit-learn's 8x8 digits and the generated MNIST-1D.

MNIST-1D (S. Greydanus and D. Kobak, "Scaling down deep learning with MNIST-1D", 2020,
arXiv:2011.14439, github.com/greydanus/mnist1d) is re-implemented here from the reference code
(``mnist1d/data.py`` and ``mnist1d/transform.py``) with its default arguments and seed: the same
random calls in the same order, so the arrays equal the reference generator's. Each example is a
hand-designed 12-point template of a digit, padded, stretched, scaled, circularly translated,
filled with correlated noise where the signal is zero, given white noise and a random linear
"shear" (tilt), and finally resampled to 40 points.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import numpy as np
import torch

from .dataset import Dataset

#: The reference generator's default arguments (``mnist1d.data.get_dataset_args``).
MNIST1D_ARGS: dict[str, Any] = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": (36, 60),
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "final_seq_length": 40,
    "seed": 42,
}


def mnist1d_templates() -> np.ndarray:
    """The ten hand-designed 1-D digit templates of MNIST-1D, whitened, starting at 0, divided by 6.

    Shape:
        output: ``(10, 12)``, row ``d`` is digit ``d``.

    Example:
        >>> t = mnist1d_templates()
        >>> t.shape, float(abs(t[:, 0]).max())
        ((10, 12), 0.0)
    """
    x = np.array(
        [
            [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
            [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
            [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
            [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
            [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
            [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
            [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
            [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
            [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
            [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
        ]
    )
    x -= x.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]  # every signal starts (and, by design, ends) at 0
    return x / 6.0


def _resample(x: np.ndarray, n: int) -> np.ndarray:
    """Linear interpolation of ``x`` onto ``n`` equally spaced points of the same interval."""
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def _transform(x: np.ndarray, rng: np.random.RandomState, a: dict, eps: float = 1e-8) -> np.ndarray:
    """One MNIST-1D example from a template; the random calls follow ``mnist1d.transform``."""
    from scipy.ndimage import gaussian_filter1d

    low, high = a["padding"]
    pad = low + int(rng.rand() * (high - low + 1))
    # eps makes the template nonzero everywhere, so only the padding counts as "no signal" below.
    x = np.concatenate([x + eps, np.zeros(pad)])
    x = _resample(x, a["template_len"] + high)  # dilate to a fixed length
    x = x * (1 + a["scale_coeff"] * (rng.rand() - 0.5))
    k = rng.choice(a["max_translation"])
    x = np.concatenate([x[-k:], x[:-k]])  # circular shift by k (k = 0 leaves x unchanged)
    mask = x != 0
    corr = gaussian_filter1d(a["corr_noise_scale"] * rng.randn(*x.shape), 2)
    x = mask * x + (1 - mask) * corr
    x = x + a["iid_noise_scale"] * rng.randn(*x.shape)
    x = x - a["shear_scale"] * (rng.rand() - 0.5) * np.linspace(-0.5, 0.5, len(x))
    return _resample(x, a["final_seq_length"])


@functools.lru_cache(maxsize=2)
def _mnist1d_arrays(seed: int) -> tuple[np.ndarray, ...]:
    a = dict(MNIST1D_ARGS, seed=seed)
    rng = np.random.RandomState(a["seed"])  # the reference seeds NumPy's legacy global generator
    templates = mnist1d_templates()
    per_class = a["num_samples"] // len(templates)
    xs = np.stack([_transform(templates[d], rng, a) for d in range(10) for _ in range(per_class)])
    ys = np.repeat(np.arange(10), per_class)
    order = rng.permutation(len(ys))
    xs, ys = xs[order], ys[order]
    xs = (xs - xs.mean()) / xs.std()  # the whole dataset centred, unit standard deviation
    split = int(len(ys) * a["train_split"])
    arrays = (xs[:split], ys[:split], xs[split:], ys[split:])
    for arr in arrays:
        arr.flags.writeable = False  # cached: callers get copies
    return arrays


def load_mnist1d(seed: int = 42) -> Dataset:
    """MNIST-1D, generated locally: 4000 training and 1000 test signals of length 40, 10 classes.

    Args:
        seed: the generator's seed; 42 (the paper's) gives the standard dataset.

    Shape:
        x_train: ``(4000, 1, 40)``, x_test: ``(1000, 1, 40)``, float32, zero mean, unit std overall.

    Example:
        >>> ds = load_mnist1d()
        >>> ds.x_train.shape, ds.x_test.shape, ds.num_classes
        (torch.Size([4000, 1, 40]), torch.Size([1000, 1, 40]), 10)
    """
    x_tr, y_tr, x_te, y_te = _mnist1d_arrays(int(seed))
    x_train = torch.tensor(x_tr, dtype=torch.float32).unsqueeze(1)  # (N, 1, 40)
    x_test = torch.tensor(x_te, dtype=torch.float32).unsqueeze(1)
    digest = hashlib.sha256(x_train.numpy().tobytes() + x_test.numpy().tobytes()).hexdigest()
    return Dataset(
        name="mnist1d",
        x_train=x_train,
        y_train=torch.tensor(y_tr, dtype=torch.int64),
        x_test=x_test,
        y_test=torch.tensor(y_te, dtype=torch.int64),
        classes=[str(d) for d in range(10)],
        meta={
            "source": "MNIST-1D (Greydanus & Kobak 2020), generated locally",
            "args": dict(MNIST1D_ARGS, padding=list(MNIST1D_ARGS["padding"]), seed=int(seed)),
            "sha256_float32": digest,
        },
    )


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    arrays = train_test_split(bunch.images / 16.0, bunch.target, test_size=360, stratify=bunch.target, random_state=0)
    for arr in arrays:
        arr.flags.writeable = False
    return tuple(arrays)  # x_train, x_test, y_train, y_test


def load_digits_dataset() -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits, split 1437/360 (stratified, fixed seed).

    Pixel values 0..16 are scaled to [0, 1].

    Shape:
        x_train: ``(1437, 1, 8, 8)``, x_test: ``(360, 1, 8, 8)``, float32.

    Example:
        >>> ds = load_digits_dataset()
        >>> ds.x_train.shape, ds.x_test.shape, float(ds.x_train.max())
        (torch.Size([1437, 1, 8, 8]), torch.Size([360, 1, 8, 8]), 1.0)
    """
    x_tr, x_te, y_tr, y_te = _digits_arrays()
    return Dataset(
        name="digits",
        x_train=torch.tensor(x_tr, dtype=torch.float32).unsqueeze(1),  # (N, 1, 8, 8)
        y_train=torch.tensor(y_tr, dtype=torch.int64),
        x_test=torch.tensor(x_te, dtype=torch.float32).unsqueeze(1),
        y_test=torch.tensor(y_te, dtype=torch.int64),
        classes=[str(d) for d in range(10)],
        meta={
            "source": "sklearn.datasets.load_digits (UCI optical digits, 8x8)",
            "split": "train_test_split(test_size=360, stratify=y, random_state=0)",
        },
    )
