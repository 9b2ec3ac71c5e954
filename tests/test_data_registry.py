"""load_dataset: names, the real MNIST in the shared folder, data_dir errors, embedded datasets, KIND:PATH readers."""

import time
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnlab.physics.dataset  # registers ising:PATH, as the cnnlab command does
from cnnlab.data import DATASETS, Dataset, load_dataset, register_path_dataset
from cnnlab.data import registry as R

SHARED_MNIST = Path("/work/shared/data/mnist")
needs_mnist = pytest.mark.skipif(
    not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists(), reason="real MNIST files not available"
)


def test_dataset_names_have_descriptions():
    for name in ["mnist", "fashion-mnist", "kmnist", "cifar10", "digits", "mnist1d", "folder:PATH", "ising:PATH"]:
        assert isinstance(DATASETS[name], str) and DATASETS[name]


@pytest.mark.parametrize("name", ["mnist2", "folder:", "cifar:x", "", "MNIST-1D"])
def test_unknown_name_lists_valid_names(name):
    with pytest.raises(
        ValueError,
        match=r"unknown dataset .*; valid names: mnist, fashion-mnist, "
        r"kmnist, cifar10, digits, mnist1d, folder:PATH, ising:PATH",
    ):
        load_dataset(name)


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="name must be a string, got int"):
        load_dataset(3)


@needs_mnist
def test_real_mnist_from_data_dir():
    start = time.perf_counter()
    ds = load_dataset("MNIST", data_dir=SHARED_MNIST)
    elapsed = time.perf_counter() - start
    assert (len(ds.y_train), len(ds.y_test)) == (60000, 10000)
    assert ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert ds.x_train.min().item() == 0.0 and ds.x_train.max().item() == 1.0
    # The well-known first labels and normalisation constants of MNIST.
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert ds.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert ds.mean[0] == pytest.approx(0.1307, abs=1e-4)
    assert ds.std[0] == pytest.approx(0.3081, abs=1e-4)
    assert torch.bincount(ds.y_train).tolist()[:3] == [5923, 6742, 5958]
    assert elapsed < 10, f"loading MNIST took {elapsed:.1f} s"  # ~1 s on a shared 2-core box


@needs_mnist
def test_missing_file_in_data_dir_names_folder_and_files(tmp_path):
    for name in ["train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"]:
        (tmp_path / name).symlink_to(SHARED_MNIST / name)
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("mnist", data_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "lacks train-labels-idx1-ubyte.gz, t10k-labels-idx1-ubyte.gz" in message
    assert (
        "must hold the files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"
    ) in message


def test_cifar_data_dir_missing_tarball(tmp_path):
    with pytest.raises(FileNotFoundError, match="lacks cifar-10-python.tar.gz"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_digits_split_and_scaling():
    ds = load_dataset("digits")
    assert ds.x_train.shape == (1437, 1, 8, 8) and ds.x_test.shape == (360, 1, 8, 8)
    assert ds.x_train.dtype == torch.float32 and ds.y_test.dtype == torch.int64
    assert ds.x_train.min().item() == 0.0 and ds.x_train.max().item() == 1.0
    # Stratified: each class has 36 +- 1 test examples (load_digits has 174..183 per class).
    counts = torch.bincount(ds.y_test, minlength=10)
    assert counts.min().item() >= 35 and counts.max().item() <= 37
    # Fixed split: the same every call, and the pixel values are sklearn's / 16.
    again = load_dataset("digits")
    assert torch.equal(ds.x_train, again.x_train) and torch.equal(ds.y_test, again.y_test)
    from sklearn.datasets import load_digits

    images = load_digits().images / 16.0
    first = ds.x_train[0, 0].numpy()
    assert any(np.allclose(first, img) for img in images)


def test_embedded_datasets_refuse_data_dir(tmp_path):
    with pytest.raises(ValueError, match="reads no files from data_dir"):
        load_dataset("digits", data_dir=tmp_path)


def test_a_registered_kind_reads_its_paths(monkeypatch, tmp_path):
    """What cnnlab.physics does for ising:PATH, with a made-up kind."""
    monkeypatch.setattr(R, "DATASETS", dict(R.DATASETS))
    monkeypatch.setattr(R, "PATH_READERS", dict(R.PATH_READERS))
    calls = []
    marker = Dataset(
        "spins:x",
        torch.zeros(2, 1, 4, 4),
        torch.zeros(2, dtype=torch.int64),
        torch.zeros(1, 1, 4, 4),
        torch.zeros(1, dtype=torch.int64),
        ["low", "high"],
    )

    def reader(path):
        calls.append(path)
        return marker

    with pytest.raises(ValueError, match=r"unknown dataset 'spins:a.npz'; valid names: .*folder:PATH"):
        load_dataset("spins:a.npz")
    register_path_dataset("spins", reader, "made-up spins")
    assert load_dataset(f"spins:{tmp_path}/configs.npz") is marker
    assert calls == [f"{tmp_path}/configs.npz"]
    assert R.DATASETS["spins:PATH"] == "made-up spins"
    with pytest.raises(ValueError, match="reads no files from data_dir"):
        load_dataset("spins:x", data_dir=tmp_path)


@pytest.mark.parametrize("kind", ["mnist", "folder", "Spins", "a b", ""])
def test_built_in_or_malformed_kinds_are_refused(kind):
    with pytest.raises(ValueError, match="kind must"):
        register_path_dataset(kind, lambda path: None, "x")


def test_physics_registers_ising():
    assert R.PATH_READERS["ising"] is cnnlab.physics.dataset.load_ising_dataset
