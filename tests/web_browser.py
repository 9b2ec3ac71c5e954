"""What the browser tests share: finding Chromium and playwright-core, a static file server, running a driver.

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
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "web_e2e"
CHROMIUM = os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CNNLAB_CHROMIUM)"
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not (E2E / "node_modules/playwright-core").is_dir():
        return "playwright-core is not installed (cd tests/web_e2e && npm ci)"
    return None


def require_browser() -> None:
    """Skip (or, with CNNLAB_REQUIRE_E2E set, fail) when Chromium or playwright-core is missing."""
    reason = missing()
    if reason and os.environ.get("CNNLAB_REQUIRE_E2E"):
        pytest.fail(f"CNNLAB_REQUIRE_E2E is set but {reason}")
    if reason:
        pytest.skip(reason)


def env() -> dict:
    """The environment for subprocesses: this checkout's src first on PYTHONPATH."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))


@contextmanager
def static_server(folder: Path):
    """``python -m http.server`` on a free port of 127.0.0.1 serving ``folder``; yields (url, log lines)."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(folder), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"port (\d+)", line)
        assert match, f"http.server printed {line!r}"
        yield f"http://127.0.0.1:{match.group(1)}/", proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def cnnlab_serve(*args: str):
    """``cnnlab serve --port 0`` (the installed console script's module); yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnlab.cli.main", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(),
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, f"serve printed {line!r}"
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def run_driver(script: str, job: dict, tmp_path: Path, timeout: int = 300) -> dict:
    """Run ``tests/web_e2e/SCRIPT`` on ``job`` (written as JSON) and return the JSON object it writes."""
    job_file, out_file = tmp_path / f"{script}.job.json", tmp_path / f"{script}.out.json"
    job_file.write_text(json.dumps(job | {"chromium": CHROMIUM}))
    proc = subprocess.run(
        ["node", str(E2E / script), str(job_file), str(out_file)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=E2E,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(out_file.read_text())
