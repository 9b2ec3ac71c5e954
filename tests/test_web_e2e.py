"""The visualiser in a real browser: `cnnlab serve` on a free loopback port, headless Chromium via playwright-core.

Needs Debian's chromium and `npm ci` in tests/web_e2e (CI installs both and sets CNNLAB_REQUIRE_E2E=1,
which turns a missing browser into a failure instead of a skip):

    apt-get install -y chromium && (cd tests/web_e2e && npm ci)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.web.models import default_models

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests/web_e2e"
CHROMIUM = os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium")


def missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CNNLAB_CHROMIUM)"
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not (E2E / "node_modules/playwright-core").is_dir():
        return "playwright-core is not installed (cd tests/web_e2e && npm ci)"
    return None


@pytest.fixture
def server():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnlab.cli.main", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, f"serve printed {line!r}"
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_draw_predict_and_trace_a_receptive_field(server, tmp_path):
    reason = missing()
    if reason and os.environ.get("CNNLAB_REQUIRE_E2E"):
        pytest.fail(f"CNNLAB_REQUIRE_E2E is set but {reason}")
    if reason:
        pytest.skip(reason)
    shot = tmp_path / "visualiser.png"
    out = subprocess.run(
        ["node", str(E2E / "e2e.mjs"), server, str(shot), CHROMIUM],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=E2E,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    # Both networks read the drawn stroke as a 7.
    assert result["predictions"] == {"mlp": "7", "cnn": "7"}
    # The highlighted input region is the unit's receptive field as cnnlab.shapes computes it.
    info = default_models()["cnn"].net.infos[result["layer"]]
    unit = result["unit"]
    (y0, y1), (x0, x1) = info.receptive_field.span((unit["y"], unit["x"]), (28, 28))
    assert result["layer"] == 3 and result["rf"] == [y0, y1 - 1, x0, x1 - 1]
    assert (y1 - y0, x1 - x0) == (14, 14)
    assert result["pixels"]["edge"] == [249, 115, 22]  # the field's outline is drawn on the input canvas
    # The inspector shows the unit's arithmetic, and the page's sum agrees with the engine.
    assert "z = Σ w·x + b" in result["inspector"] and "✓" in result["inspector"]
    assert "over 150 inputs" in result["inspector"]  # 6 channels x 5 x 5
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:4] == b"\x89PNG"


def test_serve_refuses_a_public_host():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 2
    assert "--host must be a loopback address (127.x.y.z, localhost or ::1), got '0.0.0.0'" in out.stderr


def test_serve_reports_a_busy_port():
    import socket

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "cnnlab.cli.main", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert out.returncode == 2
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in out.stderr and "--port 0" in out.stderr
