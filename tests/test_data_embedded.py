"""MNIST-1D: faithful to the reference generator, deterministic, fast."""

import hashlib
import time

import numpy as np
import pytest
import torch

from cnnlab.data import load_dataset, load_mnist1d
from cnnlab.data.embedded import MNIST1D_ARGS, _mnist1d_arrays, mnist1d_templates

# sha256 of the seed-42 arrays rounded to 5 decimals (rounding keeps the digest stable across
# NumPy/SciPy builds whose last bits may differ). It was computed from this generator, so it only
# guards against changes to it; the oracle is test_equals_reference_package, which compares with
# the reference package mnist1d (Greydanus & Kobak's make_dataset, in the test extra).
DIGEST_ROUNDED = "6d624b5d5a9eb7ee63df27eae4b2dae046c4cb0b453efa7b95d8f1359d2e6c87"
FIRST_LABELS = [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9]
FIRST_VALUES = [-0.332006, -0.471910, -0.778697, -1.009741]


def rounded_digest(ds) -> str:
    parts = [np.round(t.numpy().astype(np.float64), 5).tobytes() for t in (ds.x_train, ds.x_test)]
    parts += [ds.y_train.numpy().tobytes(), ds.y_test.numpy().tobytes()]
    return hashlib.sha256(b"".join(parts)).hexdigest()


def test_shapes_and_normalisation():
    ds = load_dataset("mnist1d")
    assert ds.x_train.shape == (4000, 1, 40) and ds.x_test.shape == (1000, 1, 40)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.input_shape == (1, 40) and ds.classes == [str(d) for d in range(10)]
    everything = torch.cat([ds.x_train, ds.x_test]).double()
    assert everything.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert everything.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-6)
    counts = torch.bincount(torch.cat([ds.y_train, ds.y_test]))
    assert counts.tolist() == [500] * 10  # 5000 samples, 500 per template


def test_paper_default_arguments():
    assert MNIST1D_ARGS == {
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


def test_templates_match_the_paper():
    t = mnist1d_templates()
    # Digit 0 by hand: [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5] whitened, minus its first
    # value, divided by 6.
    d0 = np.array([5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5])
    d0 = (d0 - d0.mean()) / d0.std()
    np.testing.assert_allclose(t[0], (d0 - d0[0]) / 6, rtol=0, atol=1e-15)
    assert np.all(t[:, 0] == 0) and np.abs(t[:, -1]).max() < 1e-12  # start and end at zero


def test_deterministic_with_known_digest():
    first = load_mnist1d()
    _mnist1d_arrays.cache_clear()
    second = load_mnist1d()
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.y_test, second.y_test)
    assert rounded_digest(first) == DIGEST_ROUNDED
    assert first.y_train[:12].tolist() == FIRST_LABELS
    assert first.x_train[0, 0, :4].tolist() == pytest.approx(FIRST_VALUES, abs=1e-5)


def test_other_seed_gives_other_data():
    assert not torch.equal(load_mnist1d(seed=0).x_train, load_mnist1d().x_train)


def test_generation_is_fast():
    _mnist1d_arrays.cache_clear()
    start = time.perf_counter()
    load_mnist1d()
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"generating MNIST-1D took {elapsed:.2f} s"  # ~0.6 s measured


def test_load_returns_fresh_tensors():
    ds = load_mnist1d()
    ds.x_train.zero_()
    assert load_mnist1d().x_train.abs().sum() > 0


def test_equals_reference_package():
    """The oracle: the reference generator (pip package mnist1d; generates locally, no download)."""
    from mnist1d import data

    ref = data.make_dataset(data.get_dataset_args())
    ds = load_mnist1d()
    np.testing.assert_allclose(ds.x_train[:, 0].numpy(), ref["x"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ds.x_test[:, 0].numpy(), ref["x_test"], rtol=0, atol=1e-6)
    assert ds.y_train.tolist() == ref["y"].tolist()
