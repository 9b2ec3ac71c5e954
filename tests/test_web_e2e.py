"""The visualiser in a real browser, with nothing but static files behind it, and under `cnnlab serve`.

`cnnlab web build` writes the site, `python -m http.server` serves it on 127.0.0.1, and headless
Chromium (tests/web_e2e/e2e.mjs, one launch per scenario) draws, hovers, runs `window.cnnlab.forward`
on 100 MNIST test images per network, and drops exported runs and broken files onto the page. The
values are checked here against `cnnlab.load(run).predict_proba`, `cnnlab.shapes` and
`cnnlab.web.digit`. Needs Chromium and playwright-core (see tests/web_browser.py).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from web_browser import ROOT, cnnlab_serve, env, require_browser, run_driver, static_server

import cnnlab
from cnnlab import engine
from cnnlab.web import bundle, digit
from cnnlab.web.models import DEFAULT_RUNS, default_models

pytestmark = pytest.mark.slow
USER_SPEC = (
    "conv(8,3,p=1,mode=circular)-bn-relu-maxpool(2)-conv(16,3,p=1,mode=circular)-bn-relu-maxpool(2)"
    "-flatten-dropout(0.2)-linear(32)-relu-linear"
)
DIGITS_SPEC = "conv(8,3,p=1,mode=reflect)-tanh-avgpool(2)-conv(16,2,s=2)-sigmoid-gap-linear-softmax"
# Strokes drawn with the mouse, in fractions of the pad: a 7, a 3, a small 1 in a corner, a 0.
STROKES = [
    [[[0.28, 0.22], [0.72, 0.22], [0.47, 0.82]]],
    [[[0.3, 0.2], [0.62, 0.18], [0.7, 0.32], [0.48, 0.47], [0.72, 0.62], [0.6, 0.8], [0.3, 0.8]]],
    [[[0.12, 0.08], [0.12, 0.3]]],
    [[[0.5, 0.15], [0.3, 0.3], [0.28, 0.65], [0.5, 0.85], [0.7, 0.65], [0.68, 0.3], [0.5, 0.15]]],
]


def mnist_dir() -> Path | None:
    for candidate in (os.environ.get("CNNLAB_MNIST_DIR"), ROOT.parent / "shared/data/mnist", "/work/shared/data/mnist"):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


def cli(*args: str) -> subprocess.CompletedProcess:
    """The installed console script (its module, with this checkout's src on the path)."""
    return subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", *args], capture_output=True, text=True, timeout=300, env=env()
    )


@pytest.fixture(scope="module")
def data():
    require_browser()
    folder = mnist_dir()
    if folder is None:
        if os.environ.get("CNNLAB_REQUIRE_E2E"):
            pytest.fail("CNNLAB_REQUIRE_E2E is set but the MNIST files are missing (set CNNLAB_MNIST_DIR)")
        pytest.skip("real MNIST files not available (set CNNLAB_MNIST_DIR)")
    from cnnlab.data import load_dataset

    return load_dataset("mnist", data_dir=folder), load_dataset("digits"), folder


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory):
    """A user run with circular padding and batch norm (MNIST subset), one on 8x8 digits; both exported with the CLI."""
    from cnnlab.train import TrainConfig, fit

    _, _, folder = data
    tmp = tmp_path_factory.mktemp("runs")
    mnist_run, digits_run = tmp / "circular-bn", tmp / "digits-8x8"
    common = dict(epochs=1, threads=1, device="cpu", seed=0)
    fit(TrainConfig(model=USER_SPEC, dataset="mnist", data_dir=str(folder), train_subset=3000, **common), out=mnist_run)
    fit(TrainConfig(model=DIGITS_SPEC, dataset="digits", lr=0.01, **common), out=digits_run)
    for run in (mnist_run, digits_run):
        out = cli("export", str(run), "--format", "web", "--json")
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["path"] == str(run / "model.cnnlab") and report["max_abs_diff"] == 0.0
    return mnist_run, digits_run


def encoded(spec: str, shape: tuple, name: str) -> bytes:
    """A valid web model file for a network the page cannot show (1-D, several channels, too large)."""
    net = engine.build(spec, shape, num_classes=3)
    channels = shape[0]
    return bundle.encode(
        spec=net.spec_text, input_shape=shape, classes="abc", mean=[0.5] * channels, std=[0.5] * channels,
        state_dict=net.state_dict(), name=name,
    )  # fmt: skip


def drops(mnist_run: Path, digits_run: Path) -> list[tuple[dict, str]]:
    """Files dropped onto the page, in order, with what the page must say."""
    good = (mnist_run / "model.cnnlab").read_bytes()
    b64 = lambda data: base64.b64encode(data).decode()
    return [
        ({"name": "model.cnnlab", "b64": b64(good)}, "Added circular-bn: "),
        ({"name": "half.cnnlab", "b64": b64(good[: len(good) // 2])}, "half.cnnlab was not added: truncated web model file"),
        ({"name": "photo.png", "b64": b64(b"\x89PNG\r\n\x1a\n" + bytes(64))}, "photo.png was not added: not a cnnlab web model file"),
        ({"name": "flipped.cnnlab", "b64": b64(good[:-9] + bytes([good[-9] ^ 1]) + good[-8:])}, "the CRC-32 checksum does not match"),
        ({"name": "mnist1d.cnnlab", "b64": b64(encoded("conv(4,5)-relu-flatten-linear", (1, 40), "m1d"))}, "a 1-D network (input 1x40) cannot be drawn on"),
        ({"name": "cifar.cnnlab", "b64": b64(encoded("conv(4,5)-relu-gap-linear", (3, 32, 32), "rgb"))}, "the input has 3 channels (3x32x32)"),
        ({"name": "big.cnnlab", "b64": b64(encoded("maxpool(8)-flatten-linear", (1, 128, 128), "big"))}, "larger than the page's limit of 64x64"),
        ({"name": "digits.cnnlab", "b64": b64((digits_run / "model.cnnlab").read_bytes()), "via": "button"}, "Added digits-8x8: "),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def static_page(data, runs, tmp_path_factory):
    mnist, digits, _ = data
    mnist_run, digits_run = runs
    tmp = tmp_path_factory.mktemp("static")
    built = cli("web", "build", "--out", str(tmp / "site"), "--json")
    assert built.returncode == 0, built.stderr
    images = mnist.x_test[:100, 0].tolist()
    job = {
        "mode": "static",
        "screenshot": str(tmp / "visualiser.png"),
        "dropScreenshot": str(tmp / "dropped.png"),
        "strokes": STROKES,
        "images": {"mlp": images, "cnn": images},
        "drops": [d for d, _ in drops(mnist_run, digits_run)],
        "dropImages": {"circular-bn": images, "digits-8x8": digits.x_test[:100, 0].tolist()},
    }
    with static_server(tmp / "site") as (url, _):
        out = run_driver("e2e.mjs", job | {"url": url}, tmp)
    assert "exception" not in out, out["exception"]
    return out, tmp, (mnist, digits), runs


def expected_proba(run, images: torch.Tensor) -> np.ndarray:
    return cnnlab.load(run).predict_proba(images).numpy()


def test_static_site_draws_and_predicts_without_errors(static_page):
    out, tmp, _, _ = static_page
    assert out["errors"] == []  # no 404, no console error, no page error, before and after the bad drops
    assert {p.split("/")[1] if p.count("/") > 1 else p for p in out["requests"]} <= {
        "/",
        "static",
        "models",
        "favicon.ico",
    }
    assert not any(p.startswith("/api/") for p in out["requests"])
    assert out["models"] == [
        {"name": "mlp", "spec": "flatten-linear(300)-relu-linear(100)-relu-linear(10)", "input_shape": [1, 28, 28]},
        {"name": "cnn", "spec": default_models()["cnn"].net.spec_text, "input_shape": [1, 28, 28]},
    ]
    assert out["predictions"] == {"mlp": "7", "cnn": "7"}
    assert out["status"].startswith("computed in your browser:")
    assert out["training"]["form"] is False and "cnnlab serve" in out["training"]["text"]
    assert "1×28×28 → 6×28×28" in out["calculator"] and "Output width 1 + (W − F + 2P)/S" in out["conv1d"]
    shot = tmp / "visualiser.png"
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:4] == b"\x89PNG"


def test_receptive_field_and_inspector_come_from_the_browser(static_page):
    out, *_ = static_page
    info = default_models()["cnn"].net.infos[out["layer"]]
    unit = out["unit"]
    (y0, y1), (x0, x1) = info.receptive_field.span((unit["y"], unit["x"]), (28, 28))
    assert out["layer"] == 3 and out["rf"] == [y0, y1 - 1, x0, x1 - 1]
    assert out["pixels"]["edge"] == [249, 115, 22]  # the field's outline on the input canvas
    assert "z = Σ w·x + b" in out["inspector"] and "✓" in out["inspector"] and "over 150 inputs" in out["inspector"]


def test_preprocessing_in_the_browser_equals_python_on_real_strokes(static_page):
    out, *_ = static_page
    assert len(out["strokes"]) == len(STROKES)
    for drawn in out["strokes"]:
        grey = digit.array_from_png(base64.b64decode(drawn["png"]))
        expected = digit.preprocess(grey)
        assert expected.max() > 0.5  # real ink, not a blank pad
        np.testing.assert_allclose(np.array(drawn["frame"], dtype=np.float32).reshape(28, 28), expected, atol=1e-5)


def test_forward_equals_predict_proba_on_100_mnist_images(static_page):
    out, _, (mnist, _), _ = static_page
    x = mnist.x_test[:100]
    for name in ("mlp", "cnn"):
        got = np.array(out["forward"][name]["probabilities"])
        want = expected_proba(DEFAULT_RUNS[name], x)
        assert got.shape == (100, 10) and np.abs(got - want).max() < 1e-4, name
        net = cnnlab.load(DEFAULT_RUNS[name])
        with torch.inference_mode():
            feats = net.net.features((x[:2] - net.mean[0]) / net.std[0])
        for i in range(2):
            for layer, values in zip(feats, out["forward"][name]["activations"][i]):
                np.testing.assert_allclose(values, layer[i].flatten().numpy(), atol=1e-4)
    assert out["apiErrors"] == [
        "unknown model 'nope'; the page has mlp, cnn",
        "image must be 28 rows of 28 numbers in [0, 1] for model 'cnn' (input 1x28x28)",
        "image values must be numbers in [0, 1] (0 = background, 1 = ink), got image[0][0] = 2",
    ]


def test_dropped_runs_appear_and_predict_and_bad_files_are_refused(static_page):
    out, _, (mnist, digits), (mnist_run, digits_run) = static_page
    expected = [message for _, message in drops(mnist_run, digits_run)]
    assert len(out["drops"]) == len(expected)
    for seen, message in zip(out["drops"], expected):
        assert message in seen["status"], (message, seen)
        assert seen["error"] == (not message.startswith("Added")) and not seen["dragging"]
        assert seen["status"].count(". ") == 0 and seen["status"].endswith(".")  # one sentence
    assert out["drops"][0]["models"] == ["mlp", "cnn", "circular-bn"]
    assert out["drops"][-1]["models"] == ["mlp", "cnn", "circular-bn", "digits-8x8"]
    assert out["afterDrops"]["columns"] == 4 and out["afterDrops"]["predictions"]["circular-bn"] in list("0123456789")
    got = np.array(out["dropForward"]["circular-bn"]["probabilities"])
    assert np.abs(got - expected_proba(mnist_run, mnist.x_test[:100])).max() < 1e-4
    got = np.array(out["dropForward"]["digits-8x8"]["probabilities"])
    assert got.shape == (100, 10) and np.abs(got - expected_proba(digits_run, digits.x_test[:100])).max() < 1e-4


def test_serve_runs_the_same_client_code(runs, tmp_path):
    require_browser()
    mnist_run, _ = runs
    images = [[[0.0] * 28] * 28, np.eye(28).tolist()]
    job = {"mode": "serve", "images": {"cnn": images}, "drops": [drops(mnist_run, mnist_run)[0][0]]}
    with cnnlab_serve() as url:
        out = run_driver("e2e.mjs", job | {"url": url}, tmp_path)
    assert "exception" not in out, out["exception"]
    assert out["errors"] == [] and out["predictions"] == {"mlp": "7", "cnn": "7"}
    # Forward passes, weights and shapes run in the browser: the only API call is the training panel's poll.
    assert {p for p in out["requests"] if p.startswith("/api/")} == {"/api/train"}
    assert "/models/index.json" in out["requests"] and "/models/cnn.cnnlab" in out["requests"]
    assert out["training"]["form"] is True
    want = expected_proba(DEFAULT_RUNS["cnn"], torch.tensor(images).view(2, 1, 28, 28))
    assert np.abs(np.array(out["forward"]["cnn"]["probabilities"]) - want).max() < 1e-4
    assert out["drops"][0]["models"] == ["mlp", "cnn", "circular-bn"]


def test_serve_refuses_a_public_host():
    out = cli("serve", "--host", "0.0.0.0")
    assert out.returncode == 2
    assert "--host must be a loopback address (127.x.y.z, localhost or ::1), got '0.0.0.0'" in out.stderr


def test_serve_reports_a_busy_port():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = cli("serve", "--port", str(port))
    assert out.returncode == 2
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in out.stderr and "--port 0" in out.stderr
