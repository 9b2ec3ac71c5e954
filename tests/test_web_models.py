"""The page's models: user run folders, layer descriptions, unit weights, and the page's receptive-field tracing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
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
