"""Fixtures shared by several test modules."""

import pytest

from cnnlab.data import load_dataset


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits as a cnnlab Dataset (embedded, loaded once per test session)."""
    return load_dataset("digits")
