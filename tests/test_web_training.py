"""Training from the page: POST /api/train runs cnnlab's trainer in a thread; GET /api/train reports it."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from cnnlab import engine
from cnnlab.data.dataset import Dataset
from cnnlab.web.app import create_app
from cnnlab.web.models import default_models
from cnnlab.web.training import TrainingJob

SMALL = "conv(3,5)-relu-maxpool(4)-flatten-linear"


def toy_dataset(n: int = 200) -> Dataset:
    """Two classes a CNN separates at once: a bright left half or a bright right half."""
    g = torch.Generator().manual_seed(0)
    x = 0.1 * torch.rand(n, 1, 28, 28, generator=g)
    y = torch.arange(n) % 2
    x[y == 0, :, :, :14] += 0.8
    x[y == 1, :, :, 14:] += 0.8
    return Dataset("toy", x, y, x.clone(), y.clone(), ["left", "right"])


@pytest.fixture(scope="module")
def models():
    return default_models()


def client_for(models, job: TrainingJob) -> TestClient:
    return TestClient(create_app(models, training=job), base_url="http://127.0.0.1:8000")


def wait(client: TestClient, states=("done", "stopped", "error"), timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/api/train").json()
        if status["state"] in states:
            return status
        time.sleep(0.05)
    raise AssertionError(f"training did not reach {states} in {timeout} s: {status}")


def test_a_run_reports_every_epoch_and_its_filters_change(models):
    client = client_for(models, TrainingJob(data=toy_dataset()))
    assert client.get("/api/train").json()["state"] == "idle"
    started = client.post("/api/train", json={"model": SMALL, "epochs": 3, "train_subset": 200, "lr": 0.01})
    assert started.status_code == 202 and started.json()["config"]["epochs"] == 3
    status = wait(client)
    assert status["state"] == "done", status["error"]
    assert [e["epoch"] for e in status["epochs"]] == [1, 2, 3]
    assert status["epochs"][-1]["test_accuracy"] == 1.0  # left vs right half: trivially separable
    # The initial filters are those of the seeded network; training moved them.
    init = engine.build(SMALL, (1, 28, 28), num_classes=10, seed=0)[0].weight.detach().numpy()
    np.testing.assert_allclose(status["initial_filters"]["weight"], init, atol=1e-7)
    assert np.abs(np.array(status["filters"]["weight"]) - init).max() > 1e-3
    assert status["filters"]["layer"] == 0


def test_one_run_at_a_time_and_stop(models):
    client = client_for(models, TrainingJob(data=toy_dataset(2000)))
    assert client.post("/api/train", json={"model": SMALL, "epochs": 30, "train_subset": 2000}).status_code == 202
    busy = client.post("/api/train", json={"model": SMALL})
    assert busy.status_code == 409 and "already going" in busy.json()["error"]
    client.post("/api/train/stop")
    status = wait(client)
    assert status["state"] == "stopped" and 1 <= len(status["epochs"]) < 30


@pytest.mark.parametrize(
    "body, match",
    [
        ({"epochs": 0}, r"epochs must be an integer in [1, 30], got 0"),
        ({"train_subset": 10}, r"train_subset must be an integer in [100, 60000], got 10"),
        ({"lr": -1}, "lr must be a number in (0, 1]"),
        ({"model": "conv(6,5)-relu-linear"}, "insert 'flatten' before it"),
        ({"model": 7}, "model must be a spec text"),
        ({"model": "flatten-linear(2000)-relu-linear"}, "the page trains at most 1,000,000"),
        ({"optimizer": "sgd"}, "unknown field(s) optimizer"),
    ],
)
def test_bad_options_are_422(models, body, match):
    response = client_for(models, TrainingJob(data=toy_dataset())).post("/api/train", json=body)
    assert response.status_code == 422 and match in response.json()["error"], response.text


def test_missing_data_is_reported_not_raised(models, tmp_path):
    client = client_for(models, TrainingJob(data_dir=str(tmp_path)))
    assert client.post("/api/train", json={"epochs": 1}).status_code == 202
    status = wait(client)
    assert status["state"] == "error" and "FileNotFoundError" in status["error"] and str(tmp_path) in status["error"]
