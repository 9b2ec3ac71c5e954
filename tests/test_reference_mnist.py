"""The NumPy reference trains LeNet on real MNIST (slow: ~20-30 s on one core)."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from cnnlab import reference as R

MNIST_DIR = Path(os.environ.get("CNNLAB_MNIST_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip): 2 zero bytes, a type byte (0x08 = uint8), the rank, the sizes (big-endian uint32), the data."""
    raw = gzip.decompress(path.read_bytes())
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (header {raw[:4]!r})")
    rank = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=rank, offset=4))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def load_mnist():
    missing = [f for f in FILES if not (MNIST_DIR / f).is_file()]
    if missing:
        pytest.skip(f"MNIST not found in {MNIST_DIR} (missing {', '.join(missing)}); set CNNLAB_MNIST_DIR")
    x_train, y_train, x_test, y_test = (read_idx(MNIST_DIR / f) for f in FILES)

    def normalise(images):  # the usual MNIST mean and std
        return ((images.astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]  # (N, 1, 28, 28)

    return normalise(x_train), y_train.astype(np.int64), normalise(x_test), y_test.astype(np.int64)


@pytest.mark.slow
def test_reference_lenet_learns_mnist():
    x_train, y_train, x_test, y_test = load_mnist()
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    n_train, batch = 10_000, 32
    net = R.build("lenet", (1, 28, 28), num_classes=10, seed=0, dtype=np.float32)
    optimizer = R.SGD(net.parameters(), lr=0.02, momentum=0.9)
    criterion = R.CrossEntropyLoss()
    order = np.random.default_rng(0).permutation(n_train)
    losses = []
    for start in range(0, n_train, batch):  # one epoch over 10,000 training images
        idx = order[start : start + batch]
        loss, grad = criterion(net.forward(x_train[idx]), y_train[idx])
        net.backward(grad)
        optimizer.step()
        losses.append(loss)
    assert all(np.isfinite(losses))
    assert np.mean(losses[-50:]) < 0.5 * np.mean(losses[:10])

    net.eval()
    predictions = np.concatenate([net.forward(x_test[i : i + 1000]).argmax(axis=1) for i in range(0, 10_000, 1000)])
    accuracy = (predictions == y_test).mean()
    # Measured 0.946 on the 10,000 test images (1 epoch on 10,000 images, ~15-20 s on one core).
    print(f"reference LeNet, 1 epoch on {n_train} MNIST images: test accuracy {accuracy:.4f}")
    assert accuracy > 0.9, f"test accuracy {accuracy:.4f}"
