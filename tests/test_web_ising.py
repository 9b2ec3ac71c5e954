"""The Ising playground without a browser: the shipped classifier (run folder, web model file, Z2 rule),
the page in `cnnlab web build`'s site and under `cnnlab serve` (tests/test_web_ising_e2e.py runs it in Chromium)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from web_browser import env

import cnnlab
from cnnlab.physics.phases import CNN_SPEC
from cnnlab.web import bundle, ising, site


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", *args], capture_output=True, text=True, timeout=300, env=env()
    )


def test_shipped_run_folder_is_the_tc_cnn_with_its_provenance():
    config = json.loads((ising.RUN / "config.json").read_text())
    weights = (ising.RUN / "model.safetensors").read_bytes()
    assert config["symmetrize"] == "z2" and config["classes"] == ["disordered", "ordered"]
    assert config["normalize"] == {"mean": [0.0], "std": [1.0]}
    assert cnnlab.load(ising.RUN).net.spec_text == cnnlab.engine.build(CNN_SPEC, (1, 64, 64), 2).spec_text
    prov = config["provenance"]
    assert (
        prov["command"].startswith("cnnlab ising tc ") and prov["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    )
    assert abs(prov["tc_estimate"] - 2.269185) < 0.02 and config["ising"]["L"] == config["input_shape"][1]
    assert len(weights) < 8_000  # 842 parameters in float32: the page loads it at once


def test_model_file_keeps_the_weights_and_the_z2_rule():
    decoded = bundle.decode(ising.model_file())
    header = decoded.header
    assert header["name"] == "ising" and header["classes"] == ["disordered", "ordered"]
    assert header["mean"] == [0.0] and header["std"] == [1.0]
    assert header["provenance"]["symmetrize"] == "z2" and header["provenance"]["ising"]["train_below"] == 2.0
    state = cnnlab.load(ising.RUN).net.state_dict()
    for key, value in decoded.tensors.items():
        np.testing.assert_array_equal(value, state[key].numpy())


def test_p_ordered_is_the_spin_flip_average_of_the_saved_network():
    model = cnnlab.load(ising.RUN)
    L = model.net.input_shape[-1]
    rng = np.random.default_rng(0)
    spins = np.concatenate([np.ones((1, L, L)), -np.ones((1, L, L)), rng.choice([-1.0, 1.0], size=(3, L, L))])
    x = torch.tensor(spins, dtype=torch.float32).unsqueeze(1)
    with torch.no_grad():
        want = torch.softmax(0.5 * (model.net(x) + model.net(-x)), dim=1)[:, 1].numpy()
    np.testing.assert_allclose(ising.p_ordered(spins), want, atol=1e-6)
    np.testing.assert_allclose(ising.p_ordered(-spins), ising.p_ordered(spins), atol=1e-7)  # Z2
    p = ising.p_ordered(spins)
    assert p[0] > 0.99 and p[1] > 0.99 and (p[2:] < 0.01).all()
    small = ising.p_ordered(np.ones((1, 16, 16)))  # the same weights at another L (global average pooling)
    assert small[0] > 0.99
    with pytest.raises(ValueError, match=r"spins must have shape \(N, L, L\)"):
        ising.p_ordered(np.ones((2, 8, 6)))


def test_site_has_the_page_linked_both_ways(tmp_path):
    result = cli("web", "build", "--out", str(tmp_path / "site"), "--json")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "site"
    assert (out / ising.MODEL_URL).read_bytes() == ising.model_file()
    index, page = (out / "index.html").read_text(), (out / "ising.html").read_text()
    assert '<a href="ising.html">Ising playground</a>' in index
    assert '<a href="index.html">networks</a>' in page and 'aria-current="page">Ising playground' in page
    urls = re.findall(r'(?:href|src)="([^"#:]+)"', page)
    assert all((out / u).is_file() for u in urls), [u for u in urls if not (out / u).is_file()]
    assert 'rel="modulepreload" href="static/js/ising-mc.js"' in page and f'href="{ising.MODEL_URL}"' in page
    # The drawing page's manifest lists only its own networks.
    manifest = json.loads((out / "models/index.json").read_text())
    assert [m["name"] for m in manifest["models"]] == ["mlp", "cnn"]
    report = json.loads(result.stdout)
    assert report["bytes"] <= 2_000_000


def test_serve_answers_the_playground():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from cnnlab.web.app import create_app
    from cnnlab.web.models import default_models

    client = TestClient(create_app(default_models(), port=8000), base_url="http://127.0.0.1:8000")
    page = client.get("/ising.html")
    assert page.status_code == 200 and 'src="static/js/ising.js"' in page.text
    model = client.get(f"/{ising.MODEL_URL}")
    assert model.status_code == 200 and model.content == ising.model_file()
    for module in ("ising.js", "ising-mc.js", "ising-cnn.js", "ising-rg.js", "ising-exact.js"):
        assert client.get(f"/static/js/{module}").status_code == 200
    assert client.get("/static/ising.css").status_code == 200
    assert [m["name"] for m in client.get("/models/index.json").json()["models"]] == ["mlp", "cnn"]
    assert ising.MODEL_URL in site.contents()[0]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (apt-get install nodejs)")
def test_js_refusals_show_the_value_as_written():
    """NaN and Infinity are named as such (JSON would print them as null)."""
    module = (Path(cnnlab.__file__).parent / "web/static/js/ising-mc.js").as_uri()
    script = (
        f"import {{ checkTemperature }} from {json.dumps(module)};"
        "for (const t of [NaN, Infinity, -1, null, '2']) {"
        "  try { checkTemperature(t); console.log('accepted'); } catch (e) { console.log(e.message); } }"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"T must be a finite temperature > 0, got {v}" for v in ("NaN", "Infinity", "-1", "null", '"2"')
    ]
