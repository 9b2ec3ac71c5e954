"""Fixtures shared by several test modules."""

import pytest

from cnnlab.data import load_dataset


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits as a cnnlab Dataset (embedded, loaded once per test session)."""
    return load_dataset("digits")


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """A run folder of a small CNN trained on digits for two epochs (for the inspection experiments)."""
    from cnnlab.train import TrainConfig, fit

    out = tmp_path_factory.mktemp("digits-run")
    config = TrainConfig(
        model="conv(8,3,p=1)-relu-maxpool(2)-flatten-linear", dataset="digits", epochs=2, lr=0.01, threads=1
    )
    fit(config, out=out)
    return out
