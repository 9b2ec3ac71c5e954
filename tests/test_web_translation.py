"""The translation lesson's API: centring off, shifts, the shift sweep, empty images, gzip, the page's trained network.

Oracles: ``numpy.roll`` with the wrapped rows and columns zeroed (a shift with zero fill), the
server's own ``/api/forward`` (the sweep must equal direct forwards), ``cnnlab.load(...).predict_proba``
and the reference file's provenance.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from cnnlab.data.dataset import Dataset
from cnnlab.web import bundle, digit
from cnnlab.web.app import create_app
from cnnlab.web.models import default_models
from cnnlab.web.training import TrainingJob
from cnnlab.web.translation import REFERENCE, reference

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def models():
    return default_models()


@pytest.fixture(scope="module")
def client(models):
    return TestClient(create_app(models, port=8000), base_url=BASE)


def rolled(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The oracle: numpy.roll, then the rows and columns that wrapped around set to 0."""
    out = np.roll(frame, (dy, dx), axis=(0, 1))
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, dx:] = 0
    return out


def paper_seven(size: int = 280, box=(60, 50, 220, 240), width: int = 22) -> np.ndarray:
    """A 7 drawn in dark ink on white paper, as the pad makes it (grey levels in [0, 1])."""
    img = Image.new("L", (size, size), 255)
    x0, y0, x1, y1 = box
    ImageDraw.Draw(img).line([(x0, y0), (x1, y0), ((x0 + x1) // 2, y1)], fill=0, width=width, joint="curve")
    return np.asarray(img, dtype=np.float32) / 255.0


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.round(array * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_rolled_oracle():
    frame = np.arange(1.0, 10.0).reshape(3, 3)
    assert rolled(frame, 1, -1).tolist() == [[0, 4, 5], [0, 7, 8], [0, 0, 0]]
    np.testing.assert_array_equal(digit.shift_frame(frame, 1, -1), rolled(frame, 1, -1))


@pytest.mark.parametrize("shift", [(4, 0), (0, 4), (-3, 2), (8, -8), (-27, 0), (0, 0)])
def test_shift_is_a_zero_filled_roll_of_the_centred_digit(client, shift):
    paper = paper_seven()
    centred = np.array(client.post("/api/forward", json={"image": paper.tolist(), "model": "cnn"}).json()["input"])
    body = client.post("/api/forward", json={"image": paper.tolist(), "shift": list(shift), "model": "cnn"}).json()
    np.testing.assert_array_equal(np.array(body["input"]), rolled(centred, *shift))
    # The same from a PNG body, with the options in the query string.
    query = f"/api/forward?model=cnn&shift={shift[0]},{shift[1]}"
    by_png = client.post(query, content=png(paper), headers={"Content-Type": "image/png"}).json()
    np.testing.assert_allclose(by_png["input"], body["input"], atol=2e-3)


def test_center_false_keeps_the_digit_where_it_was_drawn(client, models):
    corner = paper_seven(box=(20, 20, 100, 110), width=22)  # a 7 in the top-left corner of the pad
    centred = np.array(client.post("/api/forward", json={"image": corner.tolist()}).json()["input"])
    body = client.post("/api/forward", json={"image": corner.tolist(), "center": False}).json()
    drawn = np.array(body["input"])
    np.testing.assert_allclose(drawn, digit.as_drawn(corner), atol=1e-4)
    ink_rows, ink_cols = np.flatnonzero(drawn.max(1) > 0.5), np.flatnonzero(drawn.max(0) > 0.5)
    assert ink_rows.max() < 14 and ink_cols.max() < 14  # still in the top-left quarter
    assert len(np.flatnonzero(centred.max(1) > 0.3)) >= 19  # centred, it is scaled up to MNIST's 20-px box
    assert len(ink_rows) < 12  # as drawn, it stays small
    # The probabilities are those of the model on that very input.
    expected = models["cnn"].predict_proba(torch.tensor(drawn, dtype=torch.float32).view(1, 1, 28, 28))[0]
    np.testing.assert_allclose(body["results"]["cnn"]["probabilities"], expected.numpy(), atol=2e-4)
    # An MNIST-style 28x28 image (ink = 1 on 0) passes through unchanged: nothing to crop, scale or invert.
    mnist_like = np.zeros((28, 28), dtype=np.float32)
    mnist_like[5:20, 6:9] = 1.0
    mnist_like[5:8, 6:22] = 0.7
    same = client.post("/api/forward", json={"image": mnist_like.tolist(), "center": False}).json()["input"]
    np.testing.assert_allclose(same, mnist_like, atol=1e-4)


def test_empty_images_give_no_prediction(client):
    for body in (
        {"image": [[0.0] * 40] * 40},
        {"image": [[1.0] * 40] * 40, "center": False},  # white paper, no ink
        {"image": [[0.0] * 28] * 28, "preprocess": False},
    ):
        answer = client.post("/api/forward", json=body).json()
        assert answer["empty"] is True and answer["results"] == {}, body
        sweep = client.post("/api/shift-sweep", json=body).json()
        assert sweep["empty"] is True and sweep["results"] == {} and sweep["shifts"] == list(range(-8, 9))
    # A digit moved entirely out of the frame is nothing to classify either.
    dot = np.zeros((28, 28), dtype=np.float32)
    dot[0:3, 0:3] = 1.0
    gone = client.post("/api/forward", json={"image": dot.tolist(), "preprocess": False, "shift": [-5, 0]}).json()
    assert gone["empty"] is True and np.array(gone["input"]).max() == 0
    kept = client.post("/api/forward", json={"image": dot.tolist(), "preprocess": False}).json()
    assert kept["empty"] is False and set(kept["results"]) == {"mlp", "cnn"}


def test_sweep_equals_direct_forwards(client, models):
    paper = paper_seven()
    sweep = client.post("/api/shift-sweep", json={"image": paper.tolist()}).json()
    assert sweep["shifts"] == list(range(-8, 9)) and sweep["empty"] is False
    frame = digit.preprocess(paper)  # exact (the answer's "input" is rounded to 4 decimals)
    np.testing.assert_allclose(sweep["input"], frame, atol=1e-4)
    for name, model in models.items():
        result = sweep["results"][name]
        assert np.array(result["horizontal"]).shape == (17, 10) and np.array(result["vertical"]).shape == (17, 10)
        for axis, (ax, ay) in (("horizontal", (1, 0)), ("vertical", (0, 1))):
            x = torch.tensor(np.stack([rolled(frame, ax * k, ay * k) for k in sweep["shifts"]])).unsqueeze(1)
            np.testing.assert_allclose(result[axis], model.predict_proba(x).numpy(), atol=2e-6)
    for k in (-8, -3, 0, 5):
        direct = client.post("/api/forward", json={"image": paper.tolist(), "shift": [k, 0]}).json()
        for name in models:
            np.testing.assert_allclose(
                sweep["results"][name]["horizontal"][k + 8], direct["results"][name]["probabilities"], atol=2e-6
            )
    small = client.post("/api/shift-sweep", json={"image": paper.tolist(), "max_shift": 2, "model": "cnn"}).json()
    assert small["shifts"] == [-2, -1, 0, 1, 2] and list(small["results"]) == ["cnn"]
    np.testing.assert_allclose(small["results"]["cnn"]["vertical"], sweep["results"]["cnn"]["vertical"][6:11])
    # A PNG with the options in the query string gives the same.
    query = client.post(
        "/api/shift-sweep?max_shift=2&model=cnn", content=png(paper), headers={"Content-Type": "image/png"}
    )
    np.testing.assert_allclose(
        query.json()["results"]["cnn"]["horizontal"], small["results"]["cnn"]["horizontal"], atol=2e-3
    )


@pytest.mark.parametrize(
    "route, extra, match",
    [
        ("/api/forward", {"shift": [1.5, 0]}, "shift must be [dx, dy]: two whole numbers of pixels in [-27, 27]"),
        ("/api/forward", {"shift": [28, 0]}, "got [28, 0]"),
        ("/api/forward", {"shift": "left"}, "got 'left'"),
        ("/api/forward", {"shift": [1]}, "shift must be [dx, dy]"),
        ("/api/forward", {"shift": [True, 0]}, "shift must be [dx, dy]"),
        ("/api/forward", {"center": "maybe"}, "center must be true or false, got 'maybe'"),
        ("/api/forward", {"max_shift": 3}, "unknown field(s) max_shift"),
        ("/api/shift-sweep", {"max_shift": 30}, "max_shift must be a whole number of pixels in [1, 27], got 30"),
        ("/api/shift-sweep", {"max_shift": 0}, "got 0"),
        ("/api/shift-sweep", {"max_shift": 2.5}, "got 2.5"),
        ("/api/shift-sweep", {"colour": 1}, "unknown field(s) colour"),
        ("/api/shift-sweep", {"model": "vgg"}, "unknown model 'vgg'"),
    ],
)
def test_bad_lesson_fields_are_refused_with_the_rule(client, route, extra, match):
    response = client.post(route, json={"image": [[0.0] * 28] * 28} | extra)
    assert response.status_code == 422, response.text
    assert match in response.json()["error"]


def test_responses_are_gzipped(client):
    image = paper_seven().tolist()
    packed = client.post("/api/forward", json={"image": image}, headers={"Accept-Encoding": "gzip"})
    plain = client.post("/api/forward", json={"image": image}, headers={"Accept-Encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert {**packed.json(), "ms": 0} == {**plain.json(), "ms": 0}
    size = int(packed.headers["content-length"])
    assert size < len(plain.content) / 3  # every activation of both networks: ~120 kB of JSON -> ~25 kB
    sweep = client.post("/api/shift-sweep", json={"image": image}, headers={"Accept-Encoding": "gzip"})
    assert sweep.headers["content-encoding"] == "gzip" and sweep.json()["shifts"][0] == -8


def test_the_reference_curve_is_shipped_and_served(client):
    ref = reference()
    assert ref["made_by"] == "scripts/translation_reference.py" and ref["test_images"] == 10_000
    assert len(ref["data_sha256"]) == 4 and ref["shifts"] == list(range(-8, 9))
    for name in ("mlp", "cnn"):
        row = ref["models"][name]
        assert row["spec"] == default_models()[name].spec
        assert row["horizontal"][8] == row["vertical"][8] > 0.97  # unshifted: the shipped test accuracy
        assert max(row["horizontal"]) == row["horizontal"][8]
    cnn, mlp = ref["models"]["cnn"], ref["models"]["mlp"]
    assert all(c > m for c, m in zip(cnn["horizontal"][4:13], mlp["horizontal"][4:13]))  # |dx| <= 4
    assert client.get("/models/translation.json").json() == json.loads(REFERENCE.read_text())


def mnist_dir() -> Path | None:
    for candidate in (os.environ.get("CNNLAB_MNIST_DIR"), Path(__file__).resolve().parents[2] / "shared/data/mnist"):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    if Path("/work/shared/data/mnist/t10k-images-idx3-ubyte.gz").is_file():
        return Path("/work/shared/data/mnist")
    return None


def test_the_cnn_survives_a_4px_shift_better_than_the_dense_network(client):
    """200 MNIST test digits, no centring, moved 4 px: the lecture's claim, through the API the page mirrors.

    Measured (shipped float16 weights): 4 px right: dense 40.5 %, CNN 80.0 %; 4 px down: dense 35.5 %,
    CNN 54.0 %; unshifted: 100 % and 99.5 %.
    """
    folder = mnist_dir()
    if folder is None:
        pytest.skip("real MNIST files not available (set CNNLAB_MNIST_DIR)")
    from cnnlab.data import load_dataset

    data = load_dataset("mnist", data_dir=folder)
    images, labels = data.x_test[:200, 0].numpy(), data.y_test[:200].numpy()
    correct = {(name, axis): 0 for name in ("mlp", "cnn") for axis in ("horizontal", "vertical")}
    unshifted = dict.fromkeys(("mlp", "cnn"), 0)
    for image, label in zip(images, labels):
        body = {"image": image.tolist(), "center": False, "max_shift": 4}
        sweep = client.post("/api/shift-sweep", json=body).json()
        for name, axis in correct:
            correct[name, axis] += int(np.argmax(sweep["results"][name][axis][8])) == label  # +4 px: index 8 of -4..4
        for name in unshifted:
            unshifted[name] += int(np.argmax(sweep["results"][name]["horizontal"][4])) == label
    accuracy = {key: n / 200 for key, n in correct.items()}
    assert accuracy["mlp", "horizontal"] == pytest.approx(0.405, abs=0.0051)
    assert accuracy["cnn", "horizontal"] == pytest.approx(0.80, abs=0.0051)
    assert accuracy["cnn", "horizontal"] - accuracy["mlp", "horizontal"] >= 0.38  # measured: 0.395
    assert accuracy["mlp", "vertical"] == pytest.approx(0.355, abs=0.0051)
    assert accuracy["cnn", "vertical"] == pytest.approx(0.54, abs=0.0051)
    assert accuracy["cnn", "vertical"] - accuracy["mlp", "vertical"] >= 0.17  # measured: 0.185
    assert unshifted == {"mlp": 200, "cnn": 199}


def test_a_network_trained_in_the_page_can_be_fetched_for_the_side_by_side_view(models):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(128, 1, 28, 28, generator=g), torch.arange(128) % 10
    job = TrainingJob(data=Dataset("toy", x, y, x, y, [str(i) for i in range(10)]))
    client = TestClient(create_app(models, port=8000, training=job), base_url=BASE)
    early = client.get("/api/train/model")
    assert early.status_code == 409 and "no trained network yet" in early.json()["error"]
    client.post(
        "/api/train", json={"model": "conv(2,5)-relu-maxpool(4)-flatten-linear", "epochs": 1, "train_subset": 100}
    )
    job.thread.join()
    answer = client.get("/api/train/model")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/octet-stream"
    decoded = bundle.decode(answer.content)
    assert decoded.header["name"] == "trained" and decoded.header["title"] == "trained in the page (1 epoch)"
    assert decoded.header["provenance"]["epochs"] == 1 and decoded.header["spec"].startswith("conv(2,5)")
    np.testing.assert_array_equal(decoded.tensors["0.weight"], job.trained[0].weight.detach().numpy())


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["/api/forward", "/api/shift-sweep"]),
    extra=st.dictionaries(st.sampled_from(["center", "shift", "max_shift", "preprocess"]), json_values, max_size=3),
)
def test_random_lesson_fields_never_give_a_server_error(client, route, extra):
    response = client.post(route, json={"image": [[0.0] * 27 + [1.0]] * 28} | extra)
    assert response.status_code in (200, 422), response.text
    assert response.status_code == 200 or "error" in response.json()
