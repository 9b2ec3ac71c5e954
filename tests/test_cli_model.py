"""cnnlab summary, presets and explain: end to end, through cnnlab.cli.main.main and the console script."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cnnlab
from cnnlab.cli.main import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def test_summary_table_and_json(capsys):
    code, out, _ = run(capsys, "summary", "lecture")
    assert code == 0
    assert "conv(2,3)" in out and "2x4x4" in out and "896" in out and "3,488" in out
    code, out, _ = run(
        capsys, "summary", "conv(16,5,p=2)-relu-maxpool(2)-flatten-linear(10)", "--input", "1x28x28", "--json"
    )
    result = last_json(out)
    assert code == 0
    assert result["layers"][0]["output"] == "16x28x28" and result["layers"][0]["params"] == 416
    assert result["layers"][0]["locally_connected"] == 416 * 28 * 28 - 16 * 28 * 28 + 16 * 28 * 28
    assert result["layers"][2]["receptive_field"] == "6x6"
    assert result["total_params"] == 416 + 16 * 14 * 14 * 10 + 10


def test_summary_bad_shape_is_one_line_exit_2(capsys):
    code, out, err = run(capsys, "summary", "conv(16,5,s=2)", "--input", "1x28x28")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert "11.5 is not an integer" in err and "Traceback" not in err


def test_console_script_error_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", "summary", "conv(3,9)", "--input", "1x5x5"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: layer 0 'conv(3,9)'") and "Traceback" not in proc.stderr


def test_explain_conv1d_lecture_values(capsys):
    code, out, _ = run(capsys, "explain", "conv1d")
    assert code == 0
    assert "padded input = [0, 1, 2, 2, -1, 3, 0]" in out
    assert "dot products w.x   = [1, 1, -1, 6, -4]" in out
    assert "plus bias  z       = [-1, -1, -3, 4, -6]" in out
    assert "after relu         = [0, 0, 0, 4, 0]" in out
    code, out, _ = run(
        capsys,
        "explain",
        "conv1d",
        "--input",
        "1,2,3,4",
        "--weight",
        "1,1",
        "--bias",
        "0",
        "--padding",
        "0",
        "--stride",
        "2",
        "--json",
    )
    assert code == 0
    assert last_json(out)["outputs"] == [3.0, 7.0]


def test_explain_conv2d_and_pool(capsys):
    code, out, _ = run(capsys, "explain", "conv2d", "--json")
    result = last_json(out)
    assert (result["conv"], result["locally_connected_weights"], result["dense"], result["tied_reduction"]) == (
        56,
        864,
        3488,
        16,
    )
    code, out, _ = run(capsys, "explain", "conv2d")
    assert code == 0
    assert "4x4x2" in out and "factor H x W = 4 x 4 = 16" in out
    code, out, _ = run(capsys, "explain", "pool", "--json")
    assert code == 0
    assert last_json(out)["output"] == [[4, 5, 3], [6, 3, 4], [5, 4, 6]]


def cnnlab_command(*args: str) -> subprocess.CompletedProcess:
    """The installed console script, importing this checkout's cnnlab."""
    src = str(Path(cnnlab.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(["cnnlab", *args], capture_output=True, text=True, env=env, timeout=120)


def test_presets_say_which_carry_a_recipe():
    proc = cnnlab_command("presets")
    assert proc.returncode == 0, proc.stderr
    assert "trains with recipe 'fast': cnnlab train --model fast = cnnlab train --recipe fast" in proc.stdout
    assert "ising-cnn" in proc.stdout and "course" in proc.stdout
    rows = {row["name"]: row for row in json.loads(cnnlab_command("presets", "--json").stdout)}
    assert rows["fast"]["recipe"] == "fast" and rows["lenet"]["recipe"] is None
    assert rows["lenet"]["params"] == 61706 and rows["cnn1d"]["input_shape"] == [1, 40]
