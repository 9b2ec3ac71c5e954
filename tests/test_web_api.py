"""The visualiser's JSON API: values against the engine and cnnlab.shapes, and every bad input -> 4xx JSON."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnlab.explain import conv1d_steps
from cnnlab.shapes import conv_output_size
from cnnlab.web.app import create_app
from cnnlab.web.models import default_models

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def models():
    return default_models()


@pytest.fixture(scope="module")
def client(models):
    return TestClient(create_app(models, port=8000), base_url=BASE)


def seven() -> np.ndarray:
    """A hand-drawn-like 7 as an MNIST-style 28x28 image (ink = 1)."""
    img = Image.new("L", (28, 28), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(img).line([(7, 6), (20, 6), (12, 23)], fill=255, width=3)
    return np.asarray(img, dtype=np.float32) / 255.0


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.round(array * 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def assert_error(response, status: int, match: str):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert match in body["error"], body["error"]


def test_models_describe_layers_and_receptive_fields(client, models):
    listed = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert list(listed) == ["mlp", "cnn"]
    assert listed["mlp"]["spec"] == "flatten-linear(300)-relu-linear(100)-relu-linear(10)"
    assert listed["mlp"]["num_params"] == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    cnn = listed["cnn"]
    assert [layer["out_shape"] for layer in cnn["layers"][:5]] == [
        [6, 28, 28],
        [6, 28, 28],
        [6, 14, 14],
        [16, 10, 10],
        [16, 10, 10],
    ]
    conv2 = cnn["layers"][3]
    assert (conv2["kernel_size"], conv2["stride"], conv2["padding"]) == (5, 1, 0)
    # conv 5 -> pool 2 -> conv 5 sees 5 + 1 + 4*2 = 14 pixels with jump 2.
    assert conv2["receptive_field"] == {"size": [14, 14], "jump": [2, 2], "start": [4.5, 4.5]}
    assert cnn["provenance"]["test_accuracy"] > 0.98 and listed["mlp"]["provenance"]["test_accuracy"] > 0.97


def test_forward_matches_the_engine(client, models):
    image = seven()
    body = client.post("/api/forward", json={"image": image.tolist(), "preprocess": False}).json()
    assert np.allclose(body["input"], image, atol=1e-4)
    for name, model in models.items():
        x = (torch.from_numpy(image).view(1, 1, 28, 28) - 0.1307) / 0.3081
        with torch.no_grad():
            expected = [f[0].numpy() for f in model.net.features(x)]
        result = body["results"][name]
        assert len(result["layers"]) == len(expected)
        for layer, want in zip(result["layers"], expected):
            assert layer["shape"] == list(want.shape)
            np.testing.assert_allclose(layer["values"], want.ravel(), atol=1e-5)
        probs = torch.tensor(expected[-1]).softmax(-1).numpy()
        np.testing.assert_allclose(result["probabilities"], probs, atol=1e-6)
        assert result["prediction"] == int(probs.argmax()) and result["label"] == str(int(probs.argmax()))
        assert result["label"] == "7"


def test_base64_encoding_is_exact_float32(client, models):
    image = seven()
    listed = client.post("/api/forward", json={"image": image.tolist(), "preprocess": False, "model": "cnn"}).json()
    packed = client.post(
        "/api/forward", json={"image": image.tolist(), "preprocess": False, "model": ["cnn"], "encoding": "base64"}
    ).json()
    assert list(packed["results"]) == ["cnn"]
    for a, b in zip(listed["results"]["cnn"]["layers"], packed["results"]["cnn"]["layers"]):
        values = np.frombuffer(base64.b64decode(b["values"]), dtype="<f4")
        np.testing.assert_allclose(values, a["values"], atol=1e-5)


def test_png_raw_and_multipart_uploads_equal_the_json_path(client):
    image = seven()
    # Dark ink on white paper, four times larger: preprocessing inverts and rescales it.
    paper = np.kron(1.0 - image, np.ones((4, 4)))
    data = png_bytes(paper)
    by_json = client.post("/api/forward", json={"image": paper.tolist()}).json()
    raw = client.post("/api/forward?model=mlp,cnn", content=data, headers={"Content-Type": "image/png"}).json()
    multi = client.post("/api/forward", files={"image": ("seven.png", data, "image/png")}, data={"model": "cnn"}).json()
    np.testing.assert_allclose(raw["input"], by_json["input"], atol=2e-3)  # PNG stores 8-bit grey
    assert raw["results"]["cnn"]["label"] == by_json["results"]["cnn"]["label"] == "7"
    assert list(multi["results"]) == ["cnn"] and multi["results"]["cnn"]["label"] == "7"
    # The preprocessed digit is MNIST-like: its centre of mass sits at (14, 14).
    inp = np.array(raw["input"])
    cy = (inp.sum(1) * np.arange(28)).sum() / inp.sum()
    assert abs(cy - 14) <= 0.5


def test_blank_image_gives_an_empty_input_not_an_error(client):
    body = client.post("/api/forward", json={"image": [[0.0] * 40] * 40}).json()
    assert np.array(body["input"]).max() == 0.0
    assert body["empty"] is True and body["results"] == {}  # nothing drawn: no prediction (the page shows "—")


@pytest.mark.parametrize(
    "payload, status, match",
    [
        (b"{not json", 400, "malformed JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"image": [[NaN]]}', 400, "NaN is not valid JSON"),
        (b"\xff\xfe", 400, "malformed JSON"),
        (b"{}", 422, "field 'image' is required"),
        (b'{"image": 3}', 422, "image must be a list of rows"),
        (b'{"image": [[0.1, 0.2], [0.3]]}', 422, "rows must all have the same length"),
        (b'{"image": [["a"]]}', 422, "image[0][0] must be a number in [0, 1], got 'a'"),
        (b'{"image": [[true]]}', 422, "must be a number"),
        (json.dumps({"image": [[1.5] * 28] * 28}).encode(), 422, "image values must be in [0, 1]"),
        (json.dumps({"image": [[0.0] * 4] * 4}).encode(), 422, "at least 8x8"),
        (json.dumps({"image": [[0.0] * 27] * 28, "preprocess": False}).encode(), 422, "must be 28x28, got 28x27"),
        (json.dumps({"image": [[0] * 600] * 600}, separators=(",", ":")).encode(), 413, "at most 512x512"),
        (json.dumps({"image": [[0.0] * 28] * 28, "model": "resnet"}).encode(), 422, "unknown model 'resnet'"),
        (json.dumps({"image": [[0.0] * 28] * 28, "model": 3}).encode(), 422, "model must be a name"),
        (json.dumps({"image": [[0.0] * 28] * 28, "encoding": "hex"}).encode(), 422, "encoding must be one of"),
        (
            json.dumps({"image": [[0.0] * 28] * 28, "preprocess": "maybe"}).encode(),
            422,
            "preprocess must be true or false",
        ),
        (json.dumps({"image": [[0.0] * 28] * 28, "colour": 1}).encode(), 422, "unknown field(s) colour"),
    ],
    ids=lambda v: v[:30].decode("latin-1") if isinstance(v, bytes) else None,
)
def test_bad_json_bodies(client, payload, status, match):
    assert_error(
        client.post("/api/forward", content=payload, headers={"Content-Type": "application/json"}), status, match
    )


def test_bad_images_and_bodies(client):
    png = {"Content-Type": "image/png"}
    assert_error(client.post("/api/forward", content=b"\x89PNG\r\n\x1a\nnot really", headers=png), 400, "cannot decode")
    assert_error(client.post("/api/forward", content=b"", headers=png), 400, "empty body")
    wide = io.BytesIO()
    Image.new("L", (3000, 10)).save(wide, "PNG")  # a few hundred bytes, 30k pixels: refused from the header
    assert_error(client.post("/api/forward", content=wide.getvalue(), headers=png), 413, "at most 2048x2048")
    assert_error(
        client.post("/api/forward", content=b"x" * 1_000_001, headers=png), 413, "over the limit of 1000000 bytes"
    )

    def chunks():  # no Content-Length: the cap must hold while streaming
        for _ in range(40):
            yield b"0" * 50_000

    assert_error(client.post("/api/forward", content=chunks(), headers=png), 413, "over the limit")
    assert_error(
        client.post("/api/forward", content=b"hello", headers={"Content-Type": "text/plain"}), 415, "not supported"
    )
    assert_error(client.post("/api/forward", files={"file": ("a.png", b"x")}), 422, "file field named 'image'")
    assert_error(client.post("/api/forward", files={"image": ("a.png", b"garbage")}), 400, "cannot decode")


def test_host_and_origin_checks(models):
    app = create_app(models, port=8000)
    assert TestClient(app, base_url="http://localhost:8000").get("/api/models").status_code == 200
    for base in ("http://evil.example:8000", "http://127.0.0.1:9999", "http://testserver"):
        response = TestClient(app, base_url=base).get("/api/models")
        assert_error(response, 400, "DNS-rebinding protection")
    client = TestClient(app, base_url=BASE)
    assert_error(
        client.post("/api/shape", json={"size": 28, "kernel_size": 5}, headers={"Origin": "http://evil.example"}),
        403,
        "Origin 'http://evil.example' refused",
    )
    assert client.post("/api/shape", json={"size": 28, "kernel_size": 5}, headers={"Origin": BASE}).status_code == 200


def test_weights(client, models):
    conv = client.get("/api/weights/cnn/0").json()
    np.testing.assert_allclose(conv["weight"], models["cnn"].net[0].weight.detach().numpy(), atol=1e-7)
    row = client.get("/api/weights/mlp/1?unit=7").json()
    assert np.array(row["weight"]).shape == (1, 28, 28)  # the 784 weights as the image they multiply
    np.testing.assert_allclose(np.ravel(row["weight"]), models["mlp"].net[1].weight[7].detach().numpy(), atol=1e-7)
    assert row["bias"] == pytest.approx(float(models["mlp"].net[1].bias[7].detach()))
    assert np.array(client.get("/api/weights/cnn/7?unit=0").json()["weight"]).shape == (16, 5, 5)
    assert np.array(client.get("/api/weights/mlp/3?unit=0").json()["weight"]).shape == (300,)
    assert_error(client.get("/api/weights/mlp/1"), 422, "ask for one unit")
    assert_error(client.get("/api/weights/cnn/1"), 422, "has no weights")
    assert_error(client.get("/api/weights/cnn/99"), 422, "layer must be in [0, 11]")
    assert_error(client.get("/api/weights/cnn/0?unit=6"), 422, "unit must be in [0, 5]")
    assert_error(client.get("/api/weights/cnn/0?unit=abc"), 422, "unit")
    assert_error(client.get("/api/weights/vgg/0"), 404, "unknown model 'vgg'")
    assert_error(client.get("/api/nothing"), 404, "Not Found")


def test_shape_calculator_uses_cnnlab_shapes(client):
    lecture = client.post(
        "/api/shape", json={"size": [6, 6], "kernel_size": 3, "in_channels": 3, "out_channels": 2}
    ).json()
    assert lecture["out_shape"] == [2, 4, 4]
    assert (lecture["params"]["conv"], lecture["params"]["locally_connected"], lecture["params"]["dense"]) == (
        56,
        896,
        3488,
    )
    assert lecture["params"]["tied_reduction"] == 16
    assert lecture["formula"][1] == "W_out = 1 + (W - F + 2P)/S = 1 + (6 - 3 + 2*0)/1 = 4"
    with pytest.raises(ValueError) as err:
        conv_output_size(28, 5, stride=2)
    assert_error(client.post("/api/shape", json={"size": 28, "kernel_size": 5, "stride": 2}), 422, str(err.value))
    assert_error(client.post("/api/shape", json={"size": 28}), 422, "kernel_size (F) are required")
    assert_error(
        client.post("/api/shape", json={"size": 28, "kernel_size": True}), 422, "kernel_size must be an integer"
    )
    assert_error(client.post("/api/shape", json={"size": [1, 2, 3], "kernel_size": 1}), 422, "size must be W or [H, W]")
    assert_error(
        client.post("/api/shape", json={"size": 5, "kernel_size": 9}), 422, "filter wider than the padded input"
    )
    assert_error(client.post("/api/shape", json={"size": 5, "kernel_size": 3, "stride": "1"}), 422, "stride")
    assert_error(
        client.post("/api/shape", json={"size": 5, "kernel_size": 3, "dilation": 2}), 422, "unknown field(s) dilation"
    )


def test_conv1d_steps_are_the_lecture_example(client):
    body = client.post("/api/conv1d", json={}).json()
    assert body["padded"] == [0, 1, 2, 2, -1, 3, 0]
    assert body["dots"] == [1, 1, -1, 6, -4] and body["pre_activations"] == [-1, -1, -3, 4, -6]
    assert body["outputs"] == [0, 0, 0, 4, 0]
    strided = client.post(
        "/api/conv1d", json={"x": [1, 2, 3, 4, 5], "weight": [1, 1], "bias": 0, "stride": 3, "padding": 0}
    ).json()
    assert strided == conv1d_steps([1, 2, 3, 4, 5], [1, 1], bias=0, stride=3)
    assert_error(client.post("/api/conv1d", json={"x": 5}), 422, "x must be a list of 1 to 64 numbers")
    assert_error(client.post("/api/conv1d", json={"x": [1, 2], "weight": [1, 2, 3, 4, 5]}), 422, "filter wider")
    assert_error(client.post("/api/conv1d", json={"x": [1, "a"]}), 422, "x must be a list of 1 to 64 numbers")


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and '<canvas id="pad"' in page.text
    for path in ("/static/js/main.js", "/static/js/trace.js", "/static/style.css"):
        assert client.get(path).status_code == 200, path


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    image=json_values,
    extra=st.dictionaries(st.sampled_from(["model", "preprocess", "encoding"]), json_values, max_size=2),
)
def test_random_bodies_never_give_a_server_error(client, image, extra):
    response = client.post("/api/forward", json={"image": image} | extra)
    assert response.status_code in (200, 400, 413, 422), response.text
    assert "error" in response.json() or response.status_code == 200


def test_numbers_json_cannot_hold_and_deep_bodies_are_4xx_naming_the_field(client):
    assert_error(
        client.post("/api/shape", content=b'{"size": 28, "kernel_size": 1e999}'),
        422,
        "kernel_size must be a finite number",
    )
    huge = b'{"size": 28, "kernel_size": 3, "out_channels": 1' + b"0" * 400 + b"}"
    assert_error(client.post("/api/shape", content=huge), 422, "out_channels is out of range")
    assert_error(client.post("/api/shape", content=b"[" * 100_000 + b"]" * 100_000), 400, "nested too deeply")
    assert_error(client.post("/api/shape", content=b'{"a":' * 40 + b"1" + b"}" * 40), 400, "nested too deeply")
    assert_error(client.post("/api/conv1d", json={"padding": 10**6}), 422, "padding must be an integer in [0, 64]")
    assert_error(client.post("/api/conv1d", json={"x": [1e300, 1e300], "weight": [1e300]}), 422, "x must be a list")
    assert_error(client.post("/api/train", json={"seed": [1]}), 422, "seed must be an integer >= 0, got [1]")
    assert_error(client.post("/api/train", json={"model": "conv(1,1,p=3000)-gap-linear"}), 422, "the limit is 2 GB")
    assert_error(client.post("/api/train", json={"model": "flatten-linear(3)"}), 422, "ends with 3 outputs")
