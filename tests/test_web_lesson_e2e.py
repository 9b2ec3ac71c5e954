"""The lecture on the page in a real browser: translation, locality and sharing, the animation, a phone, a keyboard, axe-core.

Headless Chromium (tests/web_e2e/lesson.mjs) on the static site (`cnnlab web build` + `python -m
http.server`) and under `cnnlab serve`, desktop 1440x900 and phone 390x844 with touch. What the page
computed is checked here against Python: `cnnlab.web.digit` (centred, as drawn, shifted = a zero-filled
numpy.roll), `cnnlab.load(run).predict_proba` (forwards and the shift sweep), the layers' shapes (the
"same weights" outlines of a conv channel are H x W). Needs Chromium, playwright-core and axe-core
(`cd tests/web_e2e && npm ci`), see tests/web_browser.py.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from web_browser import cnnlab_serve, env, require_browser, run_driver, static_server

import cnnlab
from cnnlab.web import digit
from cnnlab.web.models import DEFAULT_RUNS

pytestmark = pytest.mark.slow
TITLES = "Dense 784-300-100-10 vs LeNet-like CNN"
SERIOUS = ("serious", "critical")


def rolled(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.roll(frame, (dy, dx), axis=(0, 1))
    out[: max(dy, 0)] = 0
    out[out.shape[0] + min(dy, 0) :] = 0
    out[:, : max(dx, 0)] = 0
    out[:, out.shape[1] + min(dx, 0) :] = 0
    return out


def pad_grey(seen: dict) -> np.ndarray:
    return digit.array_from_png(base64.b64decode(seen["png"]))


def frame(seen: dict, key: str = "frame") -> np.ndarray:
    return np.array(seen[key], dtype=np.float32).reshape(28, 28)


def proba(name: str, images: np.ndarray) -> np.ndarray:
    return (
        cnnlab.load(DEFAULT_RUNS[name])
        .predict_proba(torch.tensor(images, dtype=torch.float32).view(-1, 1, 28, 28))
        .numpy()
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("lesson-site")
    built = subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", "web", "build", "--out", str(tmp / "site")],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    return tmp


@pytest.fixture(scope="module")
def desktop(site):
    with static_server(site / "site") as (url, _):
        job = {"device": "desktop", "screenshot": str(site / "desktop.png"), "sweepScreenshot": str(site / "sweep.png")}
        out = run_driver("lesson.mjs", job | {"url": url}, site, 600)
    assert "exception" not in out, out["exception"]
    return out


@pytest.fixture(scope="module")
def phone(site):
    job = {"device": "phone", "screenshot": str(site / "phone.png"), "sheetScreenshot": str(site / "phone-sheet.png")}
    with static_server(site / "site") as (url, _):
        out = run_driver("lesson.mjs", job | {"url": url}, site, 300)
    assert "exception" not in out, out["exception"]
    return out


def check_desktop(out: dict) -> None:
    """What the desktop scenario must show, static site or cnnlab serve."""
    assert out["errors"] == []
    assert out["title"] == [f"cnnlab · {TITLES}", f"· {TITLES}, side by side"]
    drawn = out["drawn"]
    base = frame(drawn, "base")
    np.testing.assert_allclose(base, digit.preprocess(pad_grey(drawn)), atol=1e-5)
    assert drawn["predictions"] == {"mlp": "7", "cnn": "7"} and drawn["center"] is True

    # The sweep: p(7) of the page's own digit moved -8..8 px, equal to PyTorch on the shifted frames.
    sweep = out["sweep"]
    assert sweep["label"] == "7" and sweep["shifts"] == list(range(-8, 9))
    for name in ("mlp", "cnn"):
        for axis, (ax, ay) in (("horizontal", (1, 0)), ("vertical", (0, 1))):
            want = proba(name, np.stack([rolled(base, ax * k, ay * k) for k in sweep["shifts"]]))
            np.testing.assert_allclose(sweep["models"][name][axis], want, atol=1e-4)
            np.testing.assert_allclose(sweep["curves"][name][axis], want[:, 7], atol=1e-4)
    assert [s["lines"] for s in out["sweepSvg"]] == [4, 4] and [s["dashed"] for s in out["sweepSvg"]] == [2, 2]

    # Shifted by 4 px with the buttons: a zero-filled roll of the centred digit, predicted as PyTorch does.
    shifted = out["shifted"]
    assert shifted["shift"] == [4, 0] and shifted["shiftText"] == "dx = +4, dy = 0 px"
    np.testing.assert_array_equal(frame(shifted, "base"), base)
    np.testing.assert_array_equal(frame(shifted), rolled(base, 4, 0))
    for name in ("mlp", "cnn"):
        np.testing.assert_allclose(shifted["probabilities"][name], proba(name, frame(shifted))[0], atol=1e-4)
    assert out["sweepAfterShift"] == sweep["curves"]  # the sweep moves the unshifted digit
    assert out["keyShifted"]["shift"] == [0, -3]
    np.testing.assert_array_equal(frame(out["keyShifted"]), rolled(base, 0, -3))

    # Weight sharing: every position of the hovered conv unit's channel is outlined, H x W of them.
    conv1, conv2, dense = out["hover"]["conv1"], out["hover"]["conv2"], out["hover"]["dense"]
    for seen in (conv1, conv2):
        _, h, w = seen["shape"]
        assert seen["sameWeights"] == h * w and int(seen["sameChannel"]) == seen["unit"]["c"]
    assert conv1["sameWeights"] == 784 and conv1["inPlace"] == 25 and conv1["lines"] == 25
    assert "1 kernel of 25 weights + 1 bias, used at 784 positions" in conv1["inspector"]
    assert conv2["sameWeights"] == 100 and conv2["inPlace"] == 150 and conv2["lines"] == 150
    assert "1 kernel of 150 weights (6×5×5) + 1 bias, used at 100 positions" in conv2["inspector"]
    assert dense["sameWeights"] == 0 and dense["inPlace"] == 784 and dense["lines"] == 784  # its 28x28 template
    assert "784 weights + 1 bias, used by this unit alone" in dense["inspector"]
    assert out["pinned"]["pinned"] is True and "pinned" in out["pinned"]["inspector"]
    assert [v for v in out["axeDesktop"] if v["impact"] in SERIOUS] == []

    hi = out["networkScale"]
    assert len(set(hi[1:])) == 1 and hi[0] == 1  # the input on [0, 1]; one scale for every other stage
    assert len(set(out["layerScale"][1:])) > 1

    # Centring off: the digit where it was drawn, full pen; a small digit centred keeps a thin pen.
    as_drawn = out["asDrawn"]
    np.testing.assert_allclose(frame(as_drawn), digit.as_drawn(pad_grey(as_drawn)), atol=1e-5)
    assert as_drawn["penWidth"] == pytest.approx(280 / 11)
    small = out["smallAsDrawn"]
    np.testing.assert_allclose(frame(small), digit.as_drawn(pad_grey(small)), atol=1e-5)
    rows, cols = np.nonzero(frame(small) > 0.5)
    assert rows.max() < 14 and cols.max() < 14  # still in the top-left corner
    centred = out["smallCentred"]
    np.testing.assert_allclose(frame(centred), digit.preprocess(pad_grey(centred)), atol=1e-5)
    assert centred["penWidth"] < 280 / 11 / 2
    thick_big, thick_small = (frame(drawn) > 0.5).sum(), (frame(centred) > 0.5).sum()
    assert 0.6 < thick_small / thick_big < 1.6, (thick_small, thick_big)  # no fat blob

    # The animation: three steps, the dot product written out, its value the engine's z.
    anim = out["animation"]
    assert anim["position"] == 3 and anim["model"] == "cnn" and anim["layer"] == 0 and not anim["reducedMotion"]
    assert "z[0, 0, 3] = Σ w·x + b = (" in anim["dot"]
    value = float(re.search(r"= (−?[0-9.]+)\s+→", anim["dot"]).group(1).replace("−", "-"))
    assert value == pytest.approx(out["animationValues"]["z"][3], abs=0.0051)

    empty = out["empty"]
    assert empty["empty"] is True and empty["shown"] == ["—", "—"] and set(empty["bars"]) == {"—"}
    assert empty["sweep"] == {"empty": True} and empty["live"] == "Nothing drawn: no prediction."

    assert out["ticks"] == {
        "y": "0.2,0.4,0.6,0.8,1",
        "x": "1,3,5,7,9,11",
        "fewY": "0.8,0.85,0.9,0.95,1",
        "fewX": "1,2,3",
    }

    kb = out["keyboard"]
    assert kb["start"]["unit"] == {"c": 0, "y": 14, "x": 14} and kb["start"]["model"] == "cnn"
    assert kb["pinned"]["pinned"] is True and kb["pinned"]["focus"]["unit"] == {"c": 1, "y": 16, "x": 17}
    assert (
        kb["pinned"]["active"] == "conv" and "pinned" in kb["pinned"]["live"] and "pinned" in kb["pinned"]["inspector"]
    )
    assert kb["afterEscape"] == {"focus": None, "pinned": False}
    still = out["reducedMotion"]
    assert still["reducedMotion"] is True and still["playing"] is True and still["position"] == 28  # a whole row
    assert still["afterMs"] >= 900  # after a second, not at the next animation frame
    print(
        f"\nbrowser: one pen-stroke update {json.dumps(out['strokeMs'])} ms; {kb['tabs']} Tab presses to the CNN's conv layer"
    )


def test_static_site_desktop(desktop, site):
    check_desktop(desktop)
    shot = site / "desktop.png"
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 30_000


def test_static_site_phone(phone):
    out = phone
    assert out["errors"] == []
    assert max(out["scrollWidth"].values()) <= 390, out["scrollWidth"]
    assert out["drawn"]["predictions"] == {"mlp": "7", "cnn": "7"}  # drawn with a finger
    np.testing.assert_allclose(frame(out["drawn"]), digit.preprocess(pad_grey(out["drawn"])), atol=1e-5)
    (_, pad_top, _), (mlp_left, mlp_top, mlp_right), (cnn_left, cnn_top, cnn_right) = out["stacked"]
    assert pad_top < mlp_top < cnn_top and abs(mlp_left - cnn_left) <= 1 and max(mlp_right, cnn_right) <= 390
    assert out["tapped"]["pinned"] is True and out["tapped"]["sameWeights"] == 784
    sheet = out["sheet"]
    assert sheet["position"] == "fixed" and sheet["left"] == 0 and sheet["right"] == 390
    assert abs(sheet["bottom"] - sheet["innerHeight"]) <= 1 and sheet["top"] > 0.4 * sheet["innerHeight"]
    assert [v for v in out["axePhone"] if v["impact"] in SERIOUS] == []
    assert out["closed"] == {"pinned": False, "display": "none"}


def test_serve_desktop_with_training(site):
    require_browser()
    from test_web_e2e import mnist_dir

    folder = mnist_dir()
    args = ("--data-dir", str(folder)) if folder else ()
    train = {"model": "conv(4,5)-relu-maxpool(4)-flatten-linear", "epochs": 1, "subset": 500} if folder else None
    with cnnlab_serve(*args) as url:
        out = run_driver("lesson.mjs", {"url": url, "device": "desktop", "train": train}, site, 600)
    assert "exception" not in out, out["exception"]
    check_desktop(out)
    if train:
        names = [m[0] for m in out["trained"]["models"]]
        assert names == ["mlp", "cnn", "trained"] and out["trained"]["models"][2][2] in list("0123456789")
        assert out["trained"]["models"][2][1] == "trained in the page (1 epoch)"
        assert out["trained"]["title"] == f"cnnlab · {TITLES} vs trained in the page (1 epoch)"
