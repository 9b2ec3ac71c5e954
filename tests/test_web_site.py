"""The static site and the web model file, without a browser: `cnnlab web build`, `cnnlab export --format web`,
the file format's checks, and the `models/` URLs `cnnlab serve` answers (tests/test_web_e2e.py opens them in Chromium)."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from web_browser import env

import cnnlab
from cnnlab import engine
from cnnlab.web import bundle, runs, site
from cnnlab.web.models import DEFAULT_RUNS, default_models

SIZE_BUDGET = 2_000_000  # the limit for the whole site with the two default networks


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", *args], capture_output=True, text=True, timeout=300, env=env()
    )


def make_run(folder: Path, spec: str, shape: tuple, classes=("a", "b", "c"), seed: int = 0) -> Path:
    """A run folder by hand: config.json and model.safetensors of a randomly initialised network."""
    net = engine.build(spec, shape, num_classes=len(classes), seed=seed)
    folder.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(folder / "model.safetensors"))
    config = {
        "spec": net.spec_text,
        "input_shape": list(shape),
        "classes": list(classes),
        "normalize": {"mean": [0.5] * shape[0], "std": [0.25] * shape[0]},
        "dataset": "hand-made",
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "results.json").write_text(json.dumps({"test_accuracy": 0.5}))
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    result = cli("web", "build", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


def test_build_writes_a_small_self_contained_site(built):
    out, report = built
    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in out.rglob("*") if p.is_file()}
    assert report["bytes"] == sum(files.values()) <= SIZE_BUDGET and report["files"] == len(files)
    assert {"index.html", "static/style.css", "static/js/main.js", "static/js/engine/model.js"} <= set(files)
    assert not [f for f in files if f.endswith(".py") or "__pycache__" in f]  # no server code
    manifest = json.loads((out / "models/index.json").read_text())
    assert manifest["server"] is False and manifest["format"] == "cnnlab-site"
    assert [(m["name"], m["file"]) for m in manifest["models"]] == [("mlp", "mlp.cnnlab"), ("cnn", "cnn.cnnlab")]
    assert [m["bytes"] for m in manifest["models"]] == [files["models/mlp.cnnlab"], files["models/cnn.cnnlab"]]
    html = (out / "index.html").read_text()
    urls = re.findall(r'(?:href|src)="([^"#:]+)"', html)
    assert urls and all(not u.startswith("/") for u in urls)  # relative: works in any sub-folder of a web space
    assert all((out / u).is_file() for u in urls), [u for u in urls if not (out / u).is_file()]
    assert 'rel="modulepreload" href="static/js/engine/model.js"' in html and 'href="models/cnn.cnnlab"' in html
    # The shipped weights are float16 already: the files keep them exactly, at 2 bytes per parameter.
    for name in ("mlp", "cnn"):
        decoded = bundle.decode((out / f"models/{name}.cnnlab").read_bytes())
        state = cnnlab.load(DEFAULT_RUNS[name]).net.state_dict()
        assert {t["dtype"] for t in decoded.header["tensors"]} == {"float16"}
        for key, value in decoded.tensors.items():
            np.testing.assert_array_equal(value, state[key].numpy())


def test_build_again_and_refusals(built, tmp_path):
    out, _ = built
    assert cli("web", "build", "--out", str(out)).returncode == 0  # a site built before is rebuilt in place
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    result = cli("web", "build", "--out", str(tmp_path / "notes"))
    assert result.returncode == 2 and "is not empty and not a cnnlab site" in result.stderr
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    result = cli("web", "build", "--out", str(tmp_path / "file"))
    assert result.returncode == 2 and "is a file; give a folder" in result.stderr
    result = cli("web", "build", "--out", str(tmp_path / "s"), "--run", str(tmp_path / "missing"))
    assert result.returncode == 2 and "no such run folder" in result.stderr
    one_d = make_run(tmp_path / "mnist1d", "conv(4,5)-relu-flatten-linear", (1, 40))
    result = cli("web", "build", "--out", str(tmp_path / "s"), "--run", str(one_d))
    assert result.returncode == 2
    assert "the page cannot show this network: a 1-D network (input 1x40) cannot be drawn on" in result.stderr
    result = cli("web", "build", "--out", str(tmp_path / "s"), "--dtype", "int8")
    assert result.returncode == 2 and "dtype must be auto, float16 or float32, got 'int8'" in result.stderr


def test_build_with_user_runs(tmp_path):
    a = make_run(tmp_path / "a" / "small", "conv(4,3,p=1,mode=circular)-bn-relu-gap-linear", (1, 16, 16))
    b = make_run(tmp_path / "b" / "small", "flatten-linear(5)-tanh-linear", (1, 64, 64), seed=1)
    result = cli("web", "build", "--out", str(tmp_path / "site"), "--run", str(a), "--run", str(b), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(m["name"], m["file"]) for m in report["models"]] == [
        ("small", "small.cnnlab"),
        ("small-2", "small-2.cnnlab"),
    ]
    decoded = bundle.decode((tmp_path / "site/models/small-2.cnnlab").read_bytes())
    assert decoded.header["input_shape"] == [1, 64, 64] and decoded.header["provenance"] == {
        "dataset": "hand-made",
        "test_accuracy": 0.5,
    }
    assert {t["dtype"] for t in decoded.header["tensors"]} == {"float32"}  # random float32 weights stay exact
    result = cli("web", "build", "--out", str(tmp_path / "site16"), "--run", str(a), "--dtype", "float16", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["bytes"] < report["bytes"]


def test_other_pages_can_add_their_own_files(tmp_path):
    report = site.build(tmp_path / "site", extra={"models/ising.cnnlab": b"CNNLABWM..."})
    assert (tmp_path / "site/models/ising.cnnlab").read_bytes() == b"CNNLABWM..."
    manifest = json.loads((tmp_path / "site/models/index.json").read_text())
    assert "ising" not in {m["name"] for m in manifest["models"]} and report["files"] == len(site.contents()[0]) + 1
    for bad in ("models/index.json", "../outside.txt"):
        with pytest.raises(ValueError, match="clashes with the site's own files or leaves the site folder"):
            site.contents(extra={bad: b""})


def test_export_web_writes_one_checked_file(tmp_path):
    run = make_run(
        tmp_path / "run", "conv(2,3,s=2,p=1,mode=reflect)-sigmoid-avgpool(2)-flatten-dropout-linear", (1, 15, 15)
    )
    result = cli("export", str(run), "--format", "web")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"wrote {run / 'model.cnnlab'} (web); the file read back into the engine vs PyTorch"
    )
    decoded = bundle.decode((run / "model.cnnlab").read_bytes())
    assert decoded.header["name"] == "run" and decoded.header["classes"] == ["a", "b", "c"]
    x = torch.rand(5, 1, 15, 15)
    result = runs.export_web(run, tmp_path / "again.cnnlab", inputs=x)
    assert result.to_dict() == {
        "path": str(tmp_path / "again.cnnlab"),
        "format": "web",
        "max_abs_diff": 0.0,
        "examples": 5,
    }
    assert (tmp_path / "again.cnnlab").read_bytes() == (run / "model.cnnlab").read_bytes()
    one_d = make_run(tmp_path / "m1d", "conv(4,5)-relu-flatten-linear", (1, 40))
    result = cli("export", str(one_d), "--format", "web", "--out", str(tmp_path / "x.cnnlab"))
    assert result.returncode == 2 and "the visualiser cannot show this network: a 1-D network" in result.stderr
    assert not (tmp_path / "x.cnnlab").exists() and not list(tmp_path.glob(".x.cnnlab*"))


def test_encode_refuses_values_that_do_not_fit_the_spec():
    net = engine.build("conv(2,3)-relu-flatten-linear(3)", (1, 6, 6))
    args = dict(spec=net.spec_text, input_shape=(1, 6, 6), classes="abc", mean=[0], std=[1], name="x")
    state = net.state_dict()
    with pytest.raises(ValueError, match="the network ends in 3 outputs but 2 class names were given"):
        bundle.encode(**(args | {"classes": "ab"}), state_dict=state)
    with pytest.raises(ValueError, match=r"missing \['3.bias'\], unexpected \[\]"):
        bundle.encode(**args, state_dict={k: v for k, v in state.items() if k != "3.bias"})
    with pytest.raises(
        ValueError, match=r"state_dict\['0.weight'\] has shape \(2, 1, 2, 2\), the spec needs \(2, 1, 3, 3\)"
    ):
        bundle.encode(**args, state_dict=state | {"0.weight": torch.zeros(2, 1, 2, 2)})
    with pytest.raises(ValueError, match=r"mean must have one value per input channel \(1\), got \[0, 0\]"):
        bundle.encode(**(args | {"mean": [0, 0]}), state_dict=state)
    with pytest.raises(ValueError, match="std must be positive"):
        bundle.encode(**(args | {"std": [0]}), state_dict=state)
    with pytest.raises(ValueError, match="filter wider than the padded input"):
        bundle.encode(**(args | {"spec": "conv(2,9)-flatten-linear(3)"}), state_dict=state)


def test_decode_checks_every_part_of_the_file():
    net = engine.build("conv(2,3)-bn-relu-flatten-linear(3)", (1, 6, 6))
    data = bundle.encode(
        spec=net.spec_text,
        input_shape=(1, 6, 6),
        classes="abc",
        mean=[0],
        std=[1],
        state_dict=net.state_dict(),
        name="x",
    )
    assert data[:8] == b"CNNLABWM" and struct.unpack("<I", data[8:12]) == (1,)
    header_len, data_len, crc = struct.unpack("<III", data[12:24])
    assert (24 + header_len) % 8 == 0 and len(data) == 24 + header_len + data_len and zlib.crc32(data[24:]) == crc

    def patched(header_text: bytes, version: int = 1) -> bytes:
        body = header_text + data[24 + header_len :]
        return b"CNNLABWM" + struct.pack("<IIII", version, len(header_text), data_len, zlib.crc32(body)) + body

    header = json.loads(data[24 : 24 + header_len])
    cases = [
        (b"PK\x03\x04" + data[4:], "not a cnnlab web model file"),
        (data + b"\0", "truncated web model file"),
        (data[:-1] + bytes([data[-1] ^ 0xFF]), "the CRC-32 checksum does not match"),
        (patched(data[24 : 24 + header_len], version=7), "format version 7 is not supported (this cnnlab reads 1)"),
        (patched(b"{not json"), "the header is not JSON"),
        (patched(json.dumps(header | {"format": "onnx"}).encode()), "format is 'onnx'"),
        (patched(json.dumps({k: v for k, v in header.items() if k != "classes"}).encode()), "the header lacks classes"),
        (patched(json.dumps(header | {"tensors": header["tensors"][1:]}).encode()), "do not fit the layers"),
        (patched(json.dumps(header | {"tensors": [{k: v for k, v in header["tensors"][0].items() if k != "name"},
                                                  *header["tensors"][1:]]}).encode()), "do not fit the layers"),
        (patched(json.dumps(header | {"layers": [*header["layers"][:2], {"type": "gelu"}, *header["layers"][3:]]}).encode()),
         "layer 2 has type 'gelu', which the page does not implement"),
    ]  # fmt: skip
    for bad, message in cases:
        with pytest.raises(bundle.BundleError, match=re.escape(message)):
            bundle.decode(bad)
    with pytest.raises(bundle.BundleError, match="over the limit"):
        bundle.decode(b"CNNLABWM" + bytes(bundle.MAX_BYTES))
    decoded = bundle.decode(data)
    assert [t["name"] for t in decoded.header["tensors"]] == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "4.weight", "4.bias",
    ]  # fmt: skip
    assert all(t["offset"] % 8 == 0 for t in decoded.header["tensors"])


def test_serve_answers_the_sites_model_urls():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from cnnlab.web.app import create_app

    models = default_models()
    client = TestClient(create_app(models, port=8000), base_url="http://127.0.0.1:8000")
    manifest = client.get("/models/index.json").json()
    assert manifest["server"] is True and [m["name"] for m in manifest["models"]] == ["mlp", "cnn"]
    files = site.model_files(models)
    response = client.get("/models/cnn.cnnlab")
    assert response.status_code == 200 and response.content == files["cnn"][1]
    assert response.headers["content-type"] == "application/octet-stream"
    missing = client.get("/models/nope.cnnlab")
    assert missing.status_code == 404 and "the manifest lists mlp.cnnlab, cnn.cnnlab" in missing.json()["error"]
    assert client.get("/index.html").status_code == 200 and client.get("/nope.html").status_code == 404
    page = client.get("/").text
    assert 'src="static/js/main.js"' in page and client.get("/static/js/engine/model.js").status_code == 200


def test_serve_refuses_a_run_the_page_cannot_show(tmp_path):
    run = make_run(tmp_path / "rgb", "conv(2,3)-relu-gap-linear", (3, 16, 16))
    out = cli("serve", "--port", "0", "--run", str(run))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "the page cannot show this network: the input has 3 channels (3x16x16)" in out.stderr
