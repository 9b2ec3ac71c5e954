"""The browser engine (src/cnnlab/web/static/js/engine) against its Python oracles, in headless Chromium.

One browser launch runs every case (tests/web_e2e/engine.mjs); each test checks one family:
the shape rule and its messages against cnnlab.shapes, the spec analysis and receptive fields
against cnnlab.spec, every layer's forward pass against PyTorch, the web model file reader against
cnnlab.web.bundle, the digit preprocessing against cnnlab.web.digit (Pillow's LANCZOS included),
the 1-D convolution against cnnlab.explain, and the calculator against the server's /api/shape.
"""

from __future__ import annotations

import base64
import json
import math
import random
import struct
import zlib

import numpy as np
import pytest
import torch
from web_browser import require_browser, run_driver, static_server

from cnnlab import engine
from cnnlab import spec as S
from cnnlab.explain import conv1d_steps
from cnnlab.shapes import conv_output_size, conv_param_counts
from cnnlab.web import bundle, digit, runs, site
from cnnlab.web.app import shape_report
from cnnlab.web.models import default_models, describe, unit_weights
from cnnlab.web.parsing import ApiError

pytestmark = pytest.mark.slow
RNG = random.Random(20261201)


def attempt(f, *args, **kwargs):
    try:
        return {"value": f(*args, **kwargs)}
    except (ValueError, TypeError, ApiError) as err:
        return {"error": str(err.message if isinstance(err, ApiError) else err)}


# ---------------------------------------------------------------------------------------------- cases
def shape_cases() -> list[list]:
    """>= 500 random (W, F, S, P, dilation): valid ones, non-integer outputs, filters wider than the input, bad values."""
    cases = []
    for _ in range(700):
        W, F, S_, P, d = RNG.randint(1, 64), RNG.randint(1, 11), RNG.randint(1, 5), RNG.randint(0, 5), RNG.randint(1, 3)
        if RNG.random() < 0.06:  # out of range: zero or negative sizes
            which = RNG.randrange(5)
            value = RNG.choice([0, -1, -3])
            args = [W, F, S_, P, d]
            args[which] = value if which != 3 else -RNG.randint(1, 3)
            W, F, S_, P, d = args
        cases.append([W, F, S_, P, d])
    cases += [[28, 5, 2, 0, 1], [5, 3, 1, 1, 1], [28, 2, 2, 0, 1], [3, 9, 1, 0, 1], [1000000, 2, 3, 0, 1]]
    # Huge strides: the fix suggestion is modular arithmetic in both languages, never a loop over S.
    cases += [[28, 3, 10**8 + 1, 0, 1], [28, 3, 10**8, 0, 1], [2**31 - 1, 4, 2**30 + 1, 3, 1], [999, 4, 98, 0, 1]]
    cases += [
        [RNG.randint(1, 10**6), RNG.randint(1, 9), RNG.randint(6, 10**9), RNG.randint(0, 4), 1] for _ in range(40)
    ]
    return cases


def random_layers(dims: int) -> str:
    """A random spec text over every layer type, often invalid for its input (to compare the errors too)."""
    parts = []
    for _ in range(RNG.randint(1, 5)):
        kind = RNG.choice(["conv", "conv", "maxpool", "avgpool", "relu", "bn", "tanh"])
        if kind == "conv":
            mode = RNG.choice(["zeros", "circular", "reflect"])
            parts.append(
                f"conv({RNG.randint(1, 4)},{RNG.randint(1, 5)},s={RNG.randint(1, 3)},p={RNG.randint(0, 3)},mode={mode})"
            )
        elif kind in ("maxpool", "avgpool"):
            k = RNG.randint(1, 4)
            parts.append(f"{kind}({k},s={RNG.randint(1, 3)},p={RNG.randint(0, k // 2)})")
        else:
            parts.append(kind)
    tail = RNG.choice(["flatten-linear(7)", "gap-linear(3)-softmax", "linear(4)", "flatten-dropout(0.3)-linear(5)", ""])
    return "-".join(parts + ([tail] if tail else []))


def analyze_cases() -> list[dict]:
    cases = []
    while len(cases) < 320:
        shape = [RNG.randint(1, 3), RNG.randint(6, 40), RNG.randint(6, 40)]
        text = random_layers(2)
        layers = S.parse(text)
        case = {
            "text": text,
            "input_shape": shape,
            "layers": [bundle.layer_json(layer) for layer in layers],
            "units": [],
        }
        try:
            infos = S.analyze(layers, tuple(shape))
        except S.SpecError as err:
            case["expected"] = {"error": str(err)}
        else:
            case["expected"] = {"value": infos}
            windowed = [i for i in infos if i.layer.keyword in ("conv", "maxpool", "avgpool") and len(i.out_shape) == 3]
            for info in windowed:
                _, h, w = info.out_shape
                for y, x in [(0, 0), (h - 1, w - 1), (RNG.randrange(h), RNG.randrange(w))]:
                    case["units"].append([info.index, y, x])
        cases.append(case)
    return cases


SPECS = [
    "conv(4,3,p=1,mode=circular)-bn-relu-maxpool(2)-conv(6,3,s=2,p=1,mode=reflect)-tanh-flatten-linear(10)",
    "conv(3,5,p=2)-sigmoid-avgpool(2,p=1)-conv(5,3)-bn-relu-gap-linear(8)-softmax",
    "conv(2,3,s=2,mode=circular,p=1)-relu-maxpool(3,s=1,p=1)-flatten-dropout(0.5)-linear(16)-tanh-linear(4)",
    "flatten-linear(20)-bn-sigmoid-linear(6)",
    "conv(5,3,bias=false)-maxpool(2,s=2,p=1)-conv(3,2,p=1,mode=reflect)-avgpool(3,s=1)-flatten-linear(5,bias=false)",
]


CANDIDATE_SIZES = [(12, 12), (17, 9), (14, 14), (18, 10), (16, 16), (13, 21), (20, 20), (9, 17), (11, 11), (15, 15)]


def fits(text: str, h: int, w: int) -> bool:
    try:
        S.analyze(text, (1, h, w))
    except S.SpecError:
        return False
    return True


def random_state(net: torch.nn.Module, seed: int) -> dict:
    """The network's state with random weights and BatchNorm statistics (so that no layer is an identity)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=g) + 0.5
        else:
            state[key] = torch.randn(value.shape, generator=g) * 0.5
    net.load_state_dict(state, strict=False)
    return state


def forward_cases() -> list[dict]:
    cases = []
    for i, text in enumerate(SPECS):
        sizes = [(h, w) for h, w in CANDIDATE_SIZES if fits(text, h, w)][:2]
        assert len(sizes) == 2, text
        for h, w in sizes:
            net = engine.build(text, (1, h, w)).eval()
            state = random_state(net, i)
            classes = [str(k) for k in range(net.num_classes)]
            data = bundle.encode(
                spec=text, input_shape=(1, h, w), classes=classes, mean=[0.2], std=[0.7], state_dict=state, name=f"n{i}"
            )
            image = torch.rand(1, 1, h, w, generator=torch.Generator().manual_seed(100 + i))
            with torch.inference_mode():
                feats = net.features((image - 0.2) / 0.7)
            probs = feats[-1][0] if text.endswith("softmax") else feats[-1][0].softmax(-1)
            cases.append(
                {
                    "file": base64.b64encode(data).decode(),
                    "image": image.flatten().tolist(),
                    "expected": {
                        "probabilities": probs.tolist(),
                        "activations": [f[0].flatten().tolist() for f in feats],
                    },
                }
            )
    # Inputs the drawing page refuses but the engine runs for other pages: 3 channels, 80x80.
    others = [
        ("conv(4,3,p=1)-relu-maxpool(2)-flatten-linear(5)", (3, 10, 10)),
        ("conv(2,5,s=3,p=3,mode=circular)-gap-linear(2)", (1, 80, 80)),
    ]
    for i, (text, shape) in enumerate(others):
        net = engine.build(text, shape).eval()
        state = random_state(net, 50 + i)
        mean, std = [0.1 * (c + 1) for c in range(shape[0])], [0.5 + 0.1 * c for c in range(shape[0])]
        classes = list("abcde"[: net.num_classes])
        data = bundle.encode(
            spec=text, input_shape=shape, classes=classes, mean=mean, std=std, state_dict=state, name="x"
        )
        image = torch.rand(1, *shape, generator=torch.Generator().manual_seed(7))
        with torch.inference_mode():
            feats = net.features((image - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1))
        expected = {
            "probabilities": feats[-1][0].softmax(-1).tolist(),
            "activations": [f[0].flatten().tolist() for f in feats],
        }
        cases.append(
            {
                "file": base64.b64encode(data).decode(),
                "image": image.flatten().tolist(),
                "any_input": True,
                "expected": expected,
            }
        )
    return cases


def reencode(header: dict, data: bytes, version: int = bundle.VERSION) -> bytes:
    """A file with a changed header but valid lengths and checksum (so that the header checks are what fails)."""
    old_len = struct.unpack("<I", data[12:16])[0]
    blob = data[bundle.PREFIX + old_len :]
    text = json.dumps(header).encode()
    text += b" " * (-(bundle.PREFIX + len(text)) % 8)
    body = text + blob
    return bundle.MAGIC + struct.pack("<IIII", version, len(text), len(blob), zlib.crc32(body)) + body


def bad_files() -> list[tuple[bytes, str]]:
    """Files the page must refuse, with the sentence it must give (Python's decode says the same)."""
    net = engine.build("conv(2,3)-relu-flatten-linear(3)", (1, 8, 8))
    good = bundle.encode(
        spec=net.spec_text,
        input_shape=(1, 8, 8),
        classes="abc",
        mean=[0],
        std=[1],
        state_dict=net.state_dict(),
        name="ok",
    )
    header = json.loads(good[bundle.PREFIX : bundle.PREFIX + struct.unpack("<I", good[12:16])[0]])
    flipped = bytearray(good)
    flipped[-3] ^= 0x40
    unknown = json.loads(json.dumps(header))
    unknown["layers"][1] = {"type": "gelu", "text": "gelu"}
    wrong_shape = json.loads(json.dumps(header))
    wrong_shape["tensors"][0]["shape"] = [2, 1, 4, 4]
    bad_mode = json.loads(json.dumps(header))
    bad_mode["layers"][0]["padding_mode"] = "mirror"
    one_d = engine.build("conv(2,3)-relu-flatten-linear(3)", (1, 40))
    rgb = engine.build("conv(2,3)-relu-flatten-linear(3)", (3, 8, 8))
    big = engine.build("maxpool(8)-flatten-linear(3)", (1, 96, 96))

    def enc(net, shape, mean=(0,), std=(1,)):
        return bundle.encode(
            spec=net.spec_text,
            input_shape=shape,
            classes="abc",
            mean=mean,
            std=std,
            state_dict=net.state_dict(),
            name="x",
        )

    return [
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a cnnlab web model file (it does not start with CNNLABWM)"),
        (b"", "not a cnnlab web model file"),
        (good[:-5], "truncated web model file"),
        (bytes(flipped), "corrupted web model file: the CRC-32 checksum does not match"),
        (reencode(header, good, version=2), "format version 2 is not supported"),
        (reencode(unknown, good), 'layer 1 has type "gelu", which the page does not implement'),
        (reencode(wrong_shape, good), "tensor 0.weight should have shape 2x1x3x3"),
        (reencode({"format": "something"}, good), 'format is "something"'),
        (
            reencode(bad_mode, good),
            """layer 0 'conv(2,3)' on input 1x8x8: conv: padding_mode = "mirror" is not valid""",
        ),
        (enc(one_d, (1, 40)), "a 1-D network (input 1x40) cannot be drawn on"),
        (
            enc(rgb, (3, 8, 8), (0, 0, 0), (1, 1, 1)),
            "the input has 3 channels (3x8x8): the drawing pad makes one grey channel",
        ),
        (enc(big, (1, 96, 96)), "the input is 1x96x96, larger than the page's limit of 64x64 pixels"),
    ]


def strokes_image(rng: np.random.Generator, h: int, w: int, light: bool) -> np.ndarray:
    """A grey image with a few antialiased strokes (either polarity), like a drawn digit."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (w, h), 255 if light else 0)
    draw = ImageDraw.Draw(img)
    box = rng.uniform(0.1, 0.9, size=4) * [w, h, w, h]
    points = [tuple(rng.uniform([box[0], box[1]], [box[0] + w / 3, box[1] + h / 3])) for _ in range(rng.integers(2, 5))]
    draw.line(points, fill=0 if light else 255, width=int(rng.integers(1, max(2, w // 12))), joint="curve")
    return np.asarray(img, dtype=np.float32) / 255.0


def preprocess_cases() -> list[dict]:
    rng = np.random.default_rng(7)
    cases = []
    for i in range(16):
        h, w = int(rng.integers(12, 120)), int(rng.integers(12, 120))
        grey = strokes_image(rng, h, w, light=i % 2 == 0)
        cases.append({"grey": grey.flatten().tolist(), "h": h, "w": w, "expected": digit.preprocess(grey)})
    blank = np.full((30, 30), 0.5, dtype=np.float32)
    cases.append({"grey": blank.flatten().tolist(), "h": 30, "w": 30, "expected": digit.preprocess(blank)})
    return cases


def unit_cases(model) -> list[list]:
    """Every weighted layer's first and last unit, a whole conv layer, and the error cases."""
    units = []
    for info in model.net.infos:
        if info.layer.keyword in ("conv", "linear"):
            units += [[info.index, 0], [info.index, info.out_shape[0] - 1], [info.index, None]]
        else:
            units.append([info.index, 0])
    return units + [[len(model.net.infos), 0], [1, 10_000]]


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("engine")
    site.build(tmp / "site")
    models = default_models()
    cases = {
        "conv_output_size": shape_cases(),
        "param_counts": [
            [
                [RNG.randint(1, 4), RNG.randint(3, 30), RNG.randint(3, 30)],
                RNG.randint(1, 8),
                RNG.randint(1, 5),
                RNG.randint(1, 3),
                RNG.randint(0, 2),
                RNG.random() < 0.8,
            ]
            for _ in range(150)
        ],
        "shape_report": [
            [
                [RNG.randint(1, 40), RNG.randint(1, 40)],
                RNG.randint(1, 7),
                RNG.randint(1, 3),
                RNG.randint(0, 3),
                RNG.randint(1, 4),
                RNG.randint(1, 8),
            ]
            for _ in range(100)
        ],
        "analyze": analyze_cases(),
        "forward": forward_cases(),
        "files": [base64.b64encode(data).decode() for data, _ in bad_files()],
        "models": [
            {"file": base64.b64encode(site.model_files({name: model})[name][1]).decode(), "units": unit_cases(model)}
            for name, model in models.items()
        ],
        "conv1d": [
            [
                [RNG.randint(-5, 5) for _ in range(RNG.randint(1, 12))],
                [RNG.randint(-3, 3) for _ in range(RNG.randint(1, 4))],
                {
                    "bias": RNG.randint(-3, 3),
                    "stride": RNG.randint(1, 3),
                    "padding": RNG.randint(0, 2),
                    "padding_mode": RNG.choice(["zeros", "circular"]),
                    "activation": RNG.choice(["relu", "identity", "tanh"]),
                },
            ]
            for _ in range(60)
        ],
        "preprocess": preprocess_cases(),
        "fit_frame": [],
        "crc32": [base64.b64encode(bytes(RNG.getrandbits(8) for _ in range(n))).decode() for n in (0, 1, 7, 1000)],
        "format_g": [11.5, 0.5, 1 / 3, 2 / 3, 1234567.0, 0.0001, 0.00001234, -2.5, 100000.0, 999999.5, 1e21, 3.0],
    }
    frame = cases["preprocess"][0]["expected"]
    cases["fit_frame"] = [{"frame": frame.flatten().tolist(), "h": h, "w": w} for h, w in [(8, 8), (64, 64), (20, 33)]]
    job = dict(cases)
    for key in ("analyze", "forward", "preprocess"):
        job[key] = [{k: v for k, v in case.items() if k != "expected"} for case in cases[key]]
    with static_server(tmp / "site") as (url, _):
        out = run_driver("engine.mjs", {"url": url, "cases": job}, tmp)
    assert out["errors"] == []
    return cases, out["results"], models


def test_shape_rule_equals_cnnlab_shapes_on_random_layers(engine_run):
    cases, results, _ = engine_run
    errors = 0
    for args, got in zip(cases["conv_output_size"], results["conv_output_size"]):
        expected = attempt(conv_output_size, *args)
        assert got == expected, (args, got, expected)
        errors += "error" in expected
    assert len(cases["conv_output_size"]) >= 500 and 100 <= errors <= len(cases["conv_output_size"]) - 100
    for args, got in zip(cases["param_counts"], results["param_counts"]):
        expected = attempt(conv_param_counts, *args)
        if "error" in expected:
            assert got == expected, args
        else:
            c = expected["value"]
            assert got["value"] == {
                "conv": c.conv,
                "locally_connected": c.locally_connected,
                "dense": c.dense,
                "positions": c.positions,
                "tied_reduction": pytest.approx(c.tied_reduction),
                "dense_reduction": pytest.approx(c.dense_reduction),
            }


def test_calculator_equals_the_servers_shape_report(engine_run):
    cases, results, _ = engine_run
    for (size, k, s, p, cin, cout), got in zip(cases["shape_report"], results["shape_report"]):
        body = {"size": size, "kernel_size": k, "stride": s, "padding": p, "in_channels": cin, "out_channels": cout}
        expected = attempt(shape_report, body)
        if "error" in expected:
            assert got == expected, body
            continue
        want = expected["value"]
        assert got["value"]["out_shape"] == want["out_shape"] and got["value"]["formula"] == want["formula"]
        assert got["value"]["params"] == pytest.approx(want["params"])
    assert [format(x, "g") for x in cases["format_g"]] == results["format_g"]


def test_analysis_and_receptive_fields_equal_cnnlab_spec(engine_run):
    cases, results, _ = engine_run
    checked_units = failures = 0
    for case, got in zip(cases["analyze"], results["analyze"]):
        expected = case["expected"]
        if "error" in expected:
            failures += 1
            assert got == expected, case["text"]
            continue
        rows = got["value"]["rows"]
        for info, row in zip(expected["value"], rows):
            assert row["out_shape"] == list(info.out_shape) and row["params"] == info.params, case["text"]
            assert (row["locally_connected"], row["dense"]) == (info.locally_connected, info.dense)
            rf = info.receptive_field
            want = None if rf is None else {"size": list(rf.size), "jump": list(rf.jump), "start": list(rf.start)}
            assert row["receptive_field"] == want, (case["text"], info.index)
        for (layer, y, x), span in zip(case["units"], got["value"]["spans"]):
            (y0, y1), (x0, x1) = expected["value"][layer].receptive_field.span((y, x), tuple(case["input_shape"][1:]))
            assert span["span"] == [[y0, y1], [x0, x1]], (case["text"], layer, y, x)
            # The page's trace (window by window, clipped) lands on the same pixels as the receptive field;
            # a unit whose window holds only padding sees no pixel in either.
            want = [[y0, y1 - 1], [x0, x1 - 1]] if y1 > y0 and x1 > x0 else None
            assert span["traced"] == want, (case["text"], layer, y, x)
            checked_units += 1
    assert failures >= 10 and checked_units >= 150


def test_every_layer_forward_equals_pytorch(engine_run):
    cases, results, _ = engine_run
    assert len(cases["forward"]) == 2 * len(SPECS) + 2
    for case, got in zip(cases["forward"], results["forward"]):
        assert "value" in got, got
        want = case["expected"]
        np.testing.assert_allclose(got["value"]["probabilities"], want["probabilities"], atol=1e-6, rtol=1e-5)
        assert len(got["value"]["activations"]) == len(want["activations"])
        for a, b in zip(got["value"]["activations"], want["activations"]):
            np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-5)


def test_bad_files_are_refused_with_one_sentence(engine_run):
    _, results, _ = engine_run
    files = bad_files()
    for (_, message), got in zip(files, results["files"]):
        assert "error" in got and message in got["error"], (message, got)
        assert ". " not in got["error"]  # one sentence
    for data, message in files[:-3]:
        if "mirror" in message:  # the page's own check of layer arguments (Python's spec parser does it there)
            continue
        with pytest.raises(bundle.BundleError):
            bundle.decode(data)  # Python's reader refuses the same files
    for data, message in files[-3:]:
        decoded = bundle.decode(data)  # valid files of networks that the page cannot show
        assert message in runs.page_problem(decoded.header["input_shape"], decoded.header["layers"])


def test_describe_and_unit_weights_equal_the_servers(engine_run):
    cases, results, models = engine_run
    for (name, model), case, got in zip(models.items(), cases["models"], results["models"]):
        want = json.loads(json.dumps(describe(model)))
        mine = got["value"]["describe"]
        assert mine["layers"] == want["layers"], name
        for key in ("name", "spec", "input_shape", "classes", "mean", "std", "num_params", "provenance", "title"):
            assert mine[key] == want[key], (name, key)
        for (layer, unit), result in zip(case["units"], got["value"]["units"]):
            expected = attempt(unit_weights, model, layer, unit)
            if "error" in expected:
                assert result == expected, (name, layer, unit)
                continue
            w = np.array(expected["value"]["weight"], dtype=np.float32)
            assert result["value"]["shape"] == list(w.shape), (name, layer, unit)
            np.testing.assert_array_equal(np.array(result["value"]["weight"], dtype=np.float32), w.flatten())
            np.testing.assert_array_equal(result["value"]["bias"], np.float32(expected["value"]["bias"]))


def test_conv1d_steps_equal_cnnlab_explain(engine_run):
    cases, results, _ = engine_run
    compared = 0
    for (x, w, options), got in zip(cases["conv1d"], results["conv1d"]):
        expected = attempt(conv1d_steps, x, w, **options)
        if "error" in expected:
            assert got == expected, (x, w, options)
            continue
        for key, value in expected["value"].items():
            if isinstance(value, list):
                np.testing.assert_allclose(
                    np.array(got["value"][key], dtype=float), np.array(value, dtype=float), atol=1e-12
                )
            else:
                assert got["value"][key] == value, key
        compared += 1
    assert compared >= 20


def test_digit_preprocessing_equals_pythons_pillow_lanczos(engine_run):
    cases, results, _ = engine_run
    for case, got in zip(cases["preprocess"], results["preprocess"]):
        frame = np.array(got["value"]["frame"], dtype=np.float32).reshape(28, 28)
        np.testing.assert_allclose(frame, case["expected"], atol=2e-6)
        assert got["value"]["ink"] == bool(case["expected"].any())
    from PIL import Image

    for case, got in zip(cases["fit_frame"], results["fit_frame"]):
        small = Image.fromarray(np.array(case["frame"], dtype=np.float32).reshape(28, 28)).resize(
            (case["w"], case["h"]), Image.Resampling.LANCZOS
        )
        np.testing.assert_allclose(got, np.clip(np.asarray(small), 0, 1).flatten(), atol=2e-6)


def test_checksum_and_float16_decoding(engine_run):
    cases, results, _ = engine_run
    assert results["crc32"] == [zlib.crc32(base64.b64decode(b)) for b in cases["crc32"]]
    halves = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)
    for i, (want, got) in enumerate(zip(halves.tolist(), results["half"])):
        if math.isnan(want):
            assert got == "nan", i
        elif math.isinf(want):
            assert got == ("inf" if want > 0 else "-inf"), i
        else:
            assert got == want, i
