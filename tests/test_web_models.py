"""The page's models: user run folders, layer descriptions, unit weights, and the page's receptive-field tracing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from cnnlab import engine
from cnnlab.model import Model
from cnnlab.web.models import default_models, describe, models_from_runs, unit_weights

STATIC = Path(__file__).resolve().parent.parent / "src/cnnlab/web/static"


def make_run(tmp_path: Path, spec: str, shape: list[int], name: str = "run") -> Path:
    net = engine.build(spec, tuple(shape), num_classes=3, seed=0)
    folder = tmp_path / name
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(
        json.dumps(
            {
                "spec": net.spec_text,
                "input_shape": shape,
                "classes": ["a", "b", "c"],
                "normalize": {"mean": [0.5] * shape[0], "std": [0.25] * shape[0]},
            }
        )
    )
    return folder


def test_user_runs_are_loaded_and_named_uniquely(tmp_path):
    a = make_run(tmp_path, "conv(2,3)-relu-flatten-linear", [1, 28, 28], "digits")
    (tmp_path / "other").mkdir()
    b = shutil.copytree(a, tmp_path / "other" / "digits")
    models = models_from_runs([a, b])
    assert list(models) == ["digits", "digits-2"]
    assert models["digits"].classes == ["a", "b", "c"] and models["digits"].std == [0.25]
    d = describe(models["digits"])
    assert d["layers"][0]["receptive_field"] == {"size": [3, 3], "jump": [1, 1], "start": [1.0, 1.0]}


def test_runs_that_cannot_be_drawn_or_loaded_are_refused(tmp_path):
    rgb = make_run(tmp_path, "conv(2,3)-relu-flatten-linear", [3, 8, 8], "rgb")
    with pytest.raises(ValueError, match="the page cannot show this network: the input has 3 channels"):
        models_from_runs([rgb])
    big = make_run(tmp_path, "conv(2,3)-relu-gap-linear", [1, 96, 96], "big")
    with pytest.raises(ValueError, match="larger than the page's limit of 64x64"):
        models_from_runs([big])
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        models_from_runs([tmp_path / "missing"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Model.from_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        Model.from_run(tmp_path / "empty")


def test_unit_weights_shapes_and_errors():
    cnn = default_models()["cnn"]
    assert np.array(unit_weights(cnn, 7, 3)["weight"]).shape == (16, 5, 5)
    with pytest.raises(ValueError, match=r"layer must be in \[0, 11\]"):
        unit_weights(cnn, 12, 0)


def node_trace(stages: list[dict], k: int, unit: dict) -> dict:
    script = (
        f"import {{ traceBack }} from {json.dumps((STATIC / 'js/trace.js').as_uri())};"
        f"console.log(JSON.stringify(traceBack({json.dumps(stages)}, {k}, {json.dumps(unit)}), "
        "(key, v) => v instanceof Set ? [...v] : v));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_serve_shows_any_drawable_size_as_the_page_does(tmp_path):
    """cnnlab serve --run takes what cnnlab web build takes: the API resizes the 28x28 frame to each input."""
    from fastapi.testclient import TestClient

    from cnnlab.web.app import create_app
    from cnnlab.web.digit import fit_frame

    runs = [
        make_run(tmp_path, "conv(4,3,p=1,mode=circular)-bn-relu-maxpool(2)-gap-linear", [1, 16, 16], "small"),
        make_run(tmp_path, "flatten-linear(5)-tanh-linear", [1, 40, 40], "wide"),
    ]
    models = models_from_runs(runs)
    assert {n: m.input_shape for n, m in models.items()} == {"small": (1, 16, 16), "wide": (1, 40, 40)}
    frame = np.zeros((28, 28), dtype=np.float32)
    frame[5:23, 12:16] = 1.0
    frame[5:8, 8:20] = 0.7
    client = TestClient(create_app(models, port=8000), base_url="http://127.0.0.1:8000")
    body = client.post("/api/forward", json={"image": frame.tolist(), "preprocess": False}).json()
    sweep = client.post("/api/shift-sweep", json={"image": frame.tolist(), "preprocess": False, "max_shift": 2}).json()
    for name, model in models.items():
        x = torch.from_numpy(fit_frame(frame, *model.input_shape[1:])).view(1, *model.input_shape)
        want = model.predict_proba(x)[0].numpy()
        np.testing.assert_allclose(body["results"][name]["probabilities"], want, atol=1e-6)
        assert body["results"][name]["layers"][-1]["shape"] == [3]
        np.testing.assert_allclose(sweep["results"][name]["horizontal"][2], want, atol=1e-6)  # shift 0
    assert fit_frame(frame, 28, 28) is not None and np.array_equal(fit_frame(frame, 28, 28), frame)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (apt-get install nodejs)")
def test_fit_frame_equals_the_pages_resize():
    """digit.fit_frame (the API) against the page's fitFrame on the same frame, for sizes up and down."""
    rng = np.random.default_rng(0)
    frame = np.clip(rng.normal(0.3, 0.4, (28, 28)), 0, 1).astype(np.float32)
    sizes = [(16, 16), (8, 20), (40, 40), (64, 33)]
    script = (
        f"import {{ fitFrame }} from {json.dumps((STATIC / 'js/engine/digit.js').as_uri())};"
        f"const frame = Float32Array.from({json.dumps(frame.ravel().tolist())});"
        f"console.log(JSON.stringify({json.dumps(sizes)}.map(([h, w]) => Array.from(fitFrame(frame, h, w)))));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    from cnnlab.web.digit import fit_frame

    for (h, w), js in zip(sizes, json.loads(out.stdout)):
        np.testing.assert_allclose(np.array(js).reshape(h, w), fit_frame(frame, h, w), atol=1e-6)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (apt-get install nodejs)")
def test_page_tracing_equals_cnnlab_receptive_fields():
    """trace.js (what the page highlights) against ReceptiveField.span for every unit of every conv/pool layer."""
    net = default_models()["cnn"].net
    # Stages as the page builds them: the input, then each conv/pool layer (activations folded in).
    stages = [{"kind": "input", "shape": [1, 28, 28]}]
    layer_of_stage = {}
    for info in net.infos:
        kind = info.layer.keyword
        if kind in ("conv", "maxpool") and len(info.out_shape) == 3:
            stages.append({"kind": kind, "shape": list(info.out_shape), "layer": info.layer.window._asdict()})
            layer_of_stage[len(stages) - 1] = info
    checked = 0
    for k, info in layer_of_stage.items():
        _, h, w = info.out_shape
        for y, x in [(0, 0), (h - 1, w - 1), (h // 2, 1), (1, w // 2)]:
            traced = node_trace(stages, k, {"c": 0, "y": y, "x": x})["0"]
            (y0, y1), (x0, x1) = info.receptive_field.span((y, x), (28, 28))
            assert traced["rows"] == [y0, y1 - 1] and traced["cols"] == [x0, x1 - 1], (k, y, x)
            checked += 1
    assert checked == 16
    # A pooling unit reads its own channel only; a conv unit reads every channel of the layer below.
    trace = node_trace(stages, 2, {"c": 4, "y": 3, "x": 3})
    assert trace["1"] == {"channels": [4], "rows": [6, 7], "cols": [6, 7]}
    assert node_trace(stages, 3, {"c": 4, "y": 3, "x": 3})["2"]["channels"] == "all"
