"""``cnnlab ising ...`` end to end: tiny runs through cnnlab.cli.main.main, bad input through the console script."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.cli.ising import parse_sizes, parse_temperatures
from cnnlab.cli.main import main
from cnnlab.physics.exact import onsager_energy

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def console(*args, cwd=None, env=None, timeout=600):
    """The installed ``cnnlab`` console script (this checkout first on the path)."""
    command = [shutil.which("cnnlab")] if shutil.which("cnnlab") else [sys.executable, "-m", "cnnlab.cli.main"]
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])))
    environment.update(env or {})
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=timeout)


def test_simulate_json_and_run_folder(capsys, tmp_path):
    out_dir = tmp_path / "sim"
    code, out, err = run(
        capsys, "ising", "simulate", "--L", "16", "--T", "2.0", "--sweeps", "400", "--out", str(out_dir), "--json"
    )
    assert code == 0, err
    result = last_json(out)
    for key in ("energy_per_spin", "energy_per_spin_error", "abs_magnetization", "tau_int_abs_magnetization", "binder"):
        assert key in result
    assert abs(result["energy_per_spin"] - float(onsager_energy(2.0))) < 5 * result["energy_per_spin_error"] + 2e-3
    assert (out_dir / "observables.png").stat().st_size > 1000
    assert json.loads((out_dir / "result.json").read_text())["results"][0]["T"] == 2.0
    assert "metropolis (compiled, square), L=16" in err  # the summary goes to stderr with --json


@pytest.mark.parametrize(
    "extra",
    [
        ["--algorithm", "wolff", "--chains", "2", "--L", "8"],
        ["--backend", "numpy", "--L", "8"],
        ["--backend", "torch", "--L", "8"],
        ["--lattice", "triangular", "--L", "9", "--T", "3.0,4.0"],
    ],
)
def test_simulate_algorithms_backends_and_lattices(capsys, tmp_path, extra):
    code, out, err = run(
        capsys, "ising", "simulate", "--T", "2.2,2.4", "--sweeps", "50", *extra, "--out", str(tmp_path / "w"), "--json"
    )
    assert code == 0, err
    result = last_json(out)
    assert len(result["results"]) == 2 and len(result["energy_per_spin_error"]) == 2
    if "triangular" in extra:
        assert result["tc_exact"] == pytest.approx(3.640957, abs=1e-6) and "exact_energy" in result


BAD = [
    (["simulate", "--L", "15"], "must be even for the checkerboard update, got 15"),
    (["simulate", "--L", "1"], "must be an integer >= 2, got 1"),
    (["simulate", "--L", "1000000"], "between 2 and 4096, got 1000000"),
    (["simulate", "--T", "1.0:3.5"], "--T range must be START:STOP:STEP"),
    (["simulate", "--T", "0"], "--T: temperatures must be finite and > 0, got 0.0"),
    (["simulate", "--T", "-1.5"], "--T: temperatures must be finite and > 0, got -1.5"),
    (["simulate", "--T", "nan"], "--T: temperatures must be finite and > 0, got nan"),
    (["simulate", "--T", "inf"], "--T: temperatures must be finite and > 0, got inf"),
    (["simulate", "--T", "3.0:1.0:0.1"], "STEP > 0 and STOP >= START"),
    (["simulate", "--T", "1.0:2.0:0"], "STEP > 0 and STOP >= START"),
    (["simulate", "--T", "0.1:1000000:0.00001"], "at most 2000 are allowed"),
    (["simulate", "--T", ""], "--T must be a number"),
    (["simulate", "--T", "hot"], "--T must be a number"),
    (["simulate", "--chains", "1000000000"], "chains must be an integer between 1 and 1048576"),
    (["simulate", "--sweeps", "0"], "sweeps must be an integer >= 1"),
    (["simulate", "--sweeps", "1000000000"], "sweeps must be an integer between 1 and 100000000"),
    (["simulate", "--L", "4096", "--chains", "1048576"], "would need about"),
    (["simulate", "--algorithm", "glauber"], "algorithm must be one of metropolis, wolff"),
    (["simulate", "--backend", "fortran"], "backend must be one of compiled, numpy, torch"),
    (["simulate", "--lattice", "triangular", "--L", "16"], "multiple of 3 for the triangular"),
    (["simulate", "--lattice", "kagome"], "lattice must be 'square' or 'triangular'"),
    (["simulate", "--threads", "0"], "--threads must be an integer between 1 and 1024"),
    (["dataset", "--L", "15"], "must be even"),
    (["dataset", "--L", "16;32"], "--L must be comma-separated integers"),
    (["dataset", "--samples", "0"], "--samples must be an integer between 1 and"),
    (["dataset", "--T", "2.0,nan"], "--T: temperatures must be finite and > 0, got nan"),
    (["tc", "--L", "16"], "at least two sizes"),
    (["tc", "--L", "15,16"], "must be even"),
    (["tc", "--seeds", "0"], "--seeds must be an integer between 1 and 100"),
    (["tc", "--ensemble", "0"], "--ensemble must be an integer between 1 and 100"),
    (["tc", "--samples", "2000000"], "--samples must be an integer between 1 and 1048576"),
    (["tc", "--T-fine", "2.4:2.1:0.01"], "--T-fine range START:STOP:STEP needs STEP > 0 and STOP >= START"),
    (["rg", "--L", "12", "--steps", "3"], "L divisible by 2^steps"),
    (["rg", "--samples", "0"], "--samples must be an integer between 1 and"),
    (["study", "--threads", "0"], "--threads must be an integer between 1 and 1024"),
]


@pytest.mark.parametrize("args, message", BAD)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, message):
    code, out, err = run(capsys, "ising", *args, "--out", str(tmp_path / "x"))
    assert code == 2 and out == "", err
    assert message in err and err.strip().count("\n") == 0 and "Traceback" not in err


@pytest.mark.parametrize("command", ["simulate", "tc", "rg", "study"])
def test_an_unusable_out_is_refused_before_any_work(capsys, tmp_path, command):
    (tmp_path / "taken").write_text("a file the user wants to keep\n")
    code, out, err = run(capsys, "ising", command, "--out", str(tmp_path / "taken"))
    # A path that cannot be written is an OS failure (exit 1, as everywhere in the CLI), found in a moment.
    assert code == 1 and out == "" and err.strip().count("\n") == 0, (out, err)
    assert "is a file, not a folder" in err
    assert (tmp_path / "taken").read_text() == "a file the user wants to keep\n"


def test_a_mistake_found_during_the_work_leaves_no_empty_run_folder(capsys, tmp_path, monkeypatch):
    """Without --out the folder would be runs/ising-...; a bad value found later must not leave it behind."""
    monkeypatch.chdir(tmp_path)
    for args in (["simulate", "--L", "15"], ["simulate", "--T", "2.0", "--chains", "0"], ["tc", "--L", "15,16"]):
        code, _, err = run(capsys, "ising", *args)
        assert code == 2 and "Traceback" not in err, (args, err)
    assert not (tmp_path / "runs").exists(), sorted(p.name for p in (tmp_path / "runs").iterdir())


CONSOLE = [0, 2, 4, 6, 8, 10, 13, 19, 26, 34]  # one of each kind, through the installed script


def test_bad_input_is_one_line_and_exit_2_through_the_console_script(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    # One interpreter per case; they wait on their subprocess, so a few run at once.
    def check(case):
        args, message = case
        proc = console("ising", *args, "--out", str(tmp_path / "x"), cwd=tmp_path, timeout=120)
        lines = proc.stderr.strip().splitlines()
        if proc.returncode != 2 or "Traceback" in proc.stderr or len(lines) != 1 or message not in proc.stderr:
            return args, proc.returncode, proc.stderr[-300:]
        return None

    with ThreadPoolExecutor(4) as pool:
        failures = [f for f in pool.map(check, [BAD[i] for i in CONSOLE]) if f is not None]
    assert not failures, failures
    assert len(BAD) >= 30


def test_dataset_then_train_loader(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))
    args = [
        "ising",
        "dataset",
        "--L",
        "4,6",
        "--T",
        "1.0:3.0:1.0",
        "--samples",
        "64",
        "--thermalization",
        "20",
        "--json",
    ]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    first = last_json(out)
    assert first["cached"] is False and first["configurations"] == 2 * 3 * 64
    assert first["path"].startswith(str(tmp_path / "cache" / "ising"))
    code, out, _ = run(capsys, *args)
    assert last_json(out)["cached"] is True  # same parameters: read from the cache
    from cnnlab.data import load_dataset

    assert load_dataset(f"ising:{first['path']}").input_shape == (1, 4, 4)


TINY_TC = [
    "ising",
    "tc",
    "--L",
    "8,12",
    "--T",
    "1.0:1.75:0.25,2.75:3.5:0.25",
    "--T-fine",
    "2.1:2.4:0.1",
    "--samples",
    "64",
    "--critical-samples",
    "64",
    "--epochs",
    "12",
    "--bootstrap",
    "20",
    "--ensemble",
    "1",
    "--threads",
    "1",
    "--json",
]


def test_tc_tiny_writes_loadable_models_and_same_seed_gives_same_tc(capsys, tmp_path, monkeypatch):
    import cnnlab

    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))
    code, out, err = run(capsys, *TINY_TC, "--out", str(tmp_path / "a"))
    assert code == 0, err
    first = last_json(out)
    assert {"tc_estimate", "tc_error", "tc_by_size", "fit", "within_two_sigma"} <= set(first)
    assert set(first["tc_by_size"]) == {"8", "12"} and first["fit"]["line"]["form"] == "Tc(L) = Tc + a L^(-1/1)"
    assert (tmp_path / "a" / "tc.png").is_file() and (tmp_path / "a" / "result.json").is_file()
    model = cnnlab.load(tmp_path / "a" / "model-L12")
    assert model.net.input_shape == (1, 12, 12) and model.classes == ["disordered", "ordered"]
    # Same seed, same machine: the same Tc (from the cached data, and trained again).
    code, out, err = run(capsys, *TINY_TC, "--out", str(tmp_path / "b"))
    assert code == 0, err
    assert last_json(out)["tc_estimate"] == pytest.approx(first["tc_estimate"], abs=1e-6)
    # --no-cache writes nothing to the cache.
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache2"))
    code, out, err = run(capsys, *TINY_TC, "--no-cache", "--no-dense", "--no-save-model", "--out", str(tmp_path / "c"))
    assert code == 0, err
    assert not (tmp_path / "cache2").exists() and not (tmp_path / "c" / "model-L8").exists()


def test_tc_seeds_reports_mean_and_spread(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))
    code, out, err = run(capsys, *TINY_TC, "--no-dense", "--seeds", "2", "--out", str(tmp_path / "s"))
    assert code == 0, err
    result = last_json(out)
    assert result["seeds"] == [0, 1] and len(result["tc_estimates"]) == 2
    assert result["tc_spread"] >= 0 and "mean +- spread" in err
    assert (tmp_path / "s" / "seed-1" / "result.json").is_file() and (tmp_path / "s" / "seeds.json").is_file()


def test_rg_tiny(capsys, tmp_path):
    code, out, err = run(
        capsys, "ising", "rg", "--L", "16", "--steps", "2", "--samples", "64", "--out", str(tmp_path / "rg"), "--json"
    )
    assert code == 0, err
    result = last_json(out)
    assert set(result["flows"]) == {"majority", "max", "avg"}
    assert (tmp_path / "rg" / "rg_flow.png").is_file() and (tmp_path / "rg" / "rg_lattices.png").is_file()


@pytest.mark.slow
def test_study_quick_through_the_console_script(tmp_path):
    proc = console(
        "ising",
        "study",
        "--quick",
        "--threads",
        "2",
        "--out",
        str(tmp_path / "study"),
        "--json",
        env={"CNNLAB_DATA": str(tmp_path / "cache")},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["quick"] is True and len(result["rows"]) >= 10
    methods = " ".join(r["method"] for r in result["rows"])
    for word in ("Binder", "CNN", "dense", "collapse", "confusion", "PCA", "triangular", "majority"):
        assert word in methods
    report = (tmp_path / "study" / "report.md").read_text()
    assert "| quantity | method | measured | exact | criterion | pass |" in report
    for name in ("binder", "tc", "collapse", "confusion", "pca", "triangular", "rg_flow", "rg_lattices"):
        assert (tmp_path / "study" / f"{name}.png").stat().st_size > 1000
    # PCA finds the magnetization even on tiny lattices; RG's fixed point holds.
    pca = [r for r in result["rows"] if r["quantity"] == "|r|"]
    assert pca and all(r["passed"] for r in pca)


def test_parsers():
    assert parse_sizes("16,32,64") == [16, 32, 64]
    assert parse_temperatures("1.0:3.5:0.05")[-1] == 3.5 and len(parse_temperatures("1.0:3.5:0.05")) == 51
    assert parse_temperatures("2") == [2.0]
    assert parse_temperatures("1.0:2.0:0.5,2.5") == [1.0, 1.5, 2.0, 2.5]
    with pytest.raises(ValueError, match="--L must be comma-separated integers"):
        parse_sizes("16;32")
    with pytest.raises(ValueError, match="STEP > 0 and STOP >= START"):
        parse_temperatures("3.0:1.0:0.1")
