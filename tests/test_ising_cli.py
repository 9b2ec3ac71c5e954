"""``cnnlab ising ...`` end to end on tiny settings, through cnnlab.cli.main.main."""

import json

import pytest

from cnnlab.cli.ising import parse_sizes, parse_temperatures
from cnnlab.cli.main import main
from cnnlab.physics.exact import onsager_energy


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def test_simulate_json_and_run_folder(capsys, tmp_path):
    out_dir = tmp_path / "sim"
    code, out, err = run(
        capsys, "ising", "simulate", "--L", "16", "--T", "2.0", "--sweeps", "400", "--out", str(out_dir), "--json"
    )
    assert code == 0, err
    result = last_json(out)
    for key in (
        "energy_per_spin",
        "energy_per_spin_error",
        "abs_magnetization",
        "abs_magnetization_error",
        "tau_int_abs_magnetization",
        "susceptibility",
        "specific_heat",
        "binder",
    ):
        assert key in result
    assert abs(result["energy_per_spin"] - float(onsager_energy(2.0))) < 5 * result["energy_per_spin_error"] + 2e-3
    assert (out_dir / "observables.png").stat().st_size > 1000
    assert json.loads((out_dir / "result.json").read_text())["results"][0]["T"] == 2.0
    assert "metropolis, L=16" in err  # the summary goes to stderr with --json


def test_simulate_wolff_several_temperatures(capsys, tmp_path):
    code, out, _ = run(
        capsys,
        "ising",
        "simulate",
        "--L",
        "8",
        "--T",
        "2.2,2.4",
        "--sweeps",
        "50",
        "--algorithm",
        "wolff",
        "--chains",
        "2",
        "--out",
        str(tmp_path / "w"),
        "--json",
    )
    result = last_json(out)
    assert code == 0 and [r["T"] for r in result["results"]] == [2.2, 2.4]
    assert result["T"] == [2.2, 2.4] and len(result["energy_per_spin_error"]) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--L", "15"], "must be even for the checkerboard update, got 15"),
        (["--L", "1"], "must be an integer >= 2, got 1"),
        (["--T", "1.0:3.5"], "--T range must be START:STOP:STEP"),
        (["--T", "0"], "--T: temperatures must be finite and > 0, got 0.0"),
        (["--T", "hot"], "--T must be a number"),
        (["--algorithm", "glauber"], "algorithm must be one of metropolis, wolff"),
    ],
)
def test_simulate_bad_arguments_are_one_line_exit_2(capsys, tmp_path, args, message):
    code, out, err = run(capsys, "ising", "simulate", "--sweeps", "5", "--out", str(tmp_path / "x"), *args)
    assert code == 2 and out == ""
    assert message in err and err.strip().count("\n") == 0


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


def test_tc_tiny(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))
    code, out, err = run(
        capsys,
        "ising",
        "tc",
        "--L",
        "8,12",
        "--T",
        "1.0:3.5:0.25",
        "--samples",
        "64",
        "--epochs",
        "15",
        "--bootstrap",
        "20",
        "--ensemble",
        "1",
        "--no-cache",
        "--out",
        str(tmp_path / "tc"),
        "--json",
    )
    assert code == 0, err
    result = last_json(out)
    assert {"tc_estimate", "tc_error", "tc_by_size"} <= set(result)
    assert set(result["tc_by_size"]) == {"8", "12"}
    assert (tmp_path / "tc" / "tc.png").is_file()
    assert not (tmp_path / "cache").exists()  # --no-cache writes nothing there


def test_tc_needs_two_sizes(capsys, tmp_path):
    code, _, err = run(capsys, "ising", "tc", "--L", "16", "--out", str(tmp_path / "t"))
    assert code == 2 and "at least two sizes" in err


def test_rg_tiny(capsys, tmp_path):
    code, out, err = run(
        capsys, "ising", "rg", "--L", "16", "--steps", "2", "--samples", "64", "--out", str(tmp_path / "rg"), "--json"
    )
    assert code == 0, err
    result = last_json(out)
    assert set(result["flows"]) == {"majority", "max", "avg"}
    assert (tmp_path / "rg" / "rg_flow.png").is_file() and (tmp_path / "rg" / "rg_lattices.png").is_file()


def test_parsers():
    assert parse_sizes("16,32,64") == [16, 32, 64]
    assert parse_temperatures("1.0:3.5:0.05")[-1] == 3.5 and len(parse_temperatures("1.0:3.5:0.05")) == 51
    assert parse_temperatures("2") == [2.0]
    with pytest.raises(ValueError, match="--L must be comma-separated integers"):
        parse_sizes("16;32")
    with pytest.raises(ValueError, match="STEP > 0 and STOP >= START"):
        parse_temperatures("3.0:1.0:0.1")
