"""Shipped web models, run-folder loading, digit input handling and the page's receptive-field tracing."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from cnnlab import engine
from cnnlab.model import Model
from cnnlab.web import digit
from cnnlab.web.models import DEFAULT_RUNS, default_models, describe, models_from_runs, unit_weights

STATIC = Path(__file__).resolve().parent.parent / "src/cnnlab/web/static"


def test_shipped_assets_are_small_run_folders_with_provenance():
    total = 0
    for name, folder in DEFAULT_RUNS.items():
        config = json.loads((folder / "config.json").read_text())
        size = (folder / "model.safetensors").stat().st_size
        total += size
        assert size < 600_000, (name, size)
        assert config["dataset"] == "mnist" and config["normalize"] == {"mean": [0.1307], "std": [0.3081]}
        assert config["trained_by"] == "scripts/train_web_models.py" and len(config["data_sha256"]) == 4
        assert config["spec"] == config["model"]
    assert total < 1_000_000


def test_shipped_models_match_their_specs():
    models = default_models()
    assert models["mlp"].net.num_params == 266_610
    assert models["cnn"].net.num_params == 61_706
    assert all(p.dtype == torch.float32 for m in models.values() for p in m.net.parameters())
    assert not any(m.net.training for m in models.values())


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
                "normalize": {"mean": [0.5], "std": [0.25]},
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
    small = make_run(tmp_path, "conv(2,3)-relu-flatten-linear", [1, 8, 8], "tiny")
    with pytest.raises(ValueError, match="draws 1x28x28 digits, but this model's input_shape is 1x8x8"):
        models_from_runs([small])
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


def test_png_decoding_and_preprocessing():
    buf = io.BytesIO()
    rgba = np.zeros((40, 30, 4), dtype=np.uint8)  # transparent canvas ...
    rgba[5:35, 12:18] = (0, 0, 0, 255)  # ... with an opaque black stroke
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    grey = digit.array_from_png(buf.getvalue())
    assert grey.shape == (40, 30) and grey[0, 0] == 1.0 and grey[20, 15] == 0.0
    frame = digit.preprocess(grey)
    rows = np.flatnonzero(frame.max(1) > 0.1)
    assert frame.shape == (28, 28) and rows[-1] - rows[0] + 1 == 20  # the stroke is 20 px tall, ink = 1
    with pytest.raises(digit.ImageDecodeError, match="cannot decode"):
        digit.array_from_png(b"GIF89a broken")
    with pytest.raises(ValueError, match="at least 8x8 pixels, got 4x4"):
        buf = io.BytesIO()
        Image.new("L", (4, 4)).save(buf, "PNG")
        digit.array_from_png(buf.getvalue())


def node_trace(stages: list[dict], k: int, unit: dict) -> dict:
    script = (
        f"import {{ traceBack }} from {json.dumps((STATIC / 'js/trace.js').as_uri())};"
        f"console.log(JSON.stringify(traceBack({json.dumps(stages)}, {k}, {json.dumps(unit)}), "
        "(key, v) => v instanceof Set ? [...v] : v));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


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
            stride = getattr(info.layer, "step", getattr(info.layer, "stride", 1))
            stages.append(
                {
                    "kind": kind,
                    "shape": list(info.out_shape),
                    "layer": {"kernel_size": info.layer.kernel_size, "stride": stride, "padding": info.layer.padding},
                }
            )
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
