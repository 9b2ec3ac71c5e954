"""Ising datasets: generation, save/load round trip, refusal of foreign or corrupted files."""

import json

import numpy as np
import pytest

from cnnlab.data import load_dataset
from cnnlab.physics import dataset as D
from cnnlab.physics.exact import TC


@pytest.fixture(scope="module")
def tiny():
    return D.generate([4, 6], [1.0, 2.0, 3.5], samples=80, seed=3, thermalization=30, autocorr_sweeps=20)


def test_generate_shapes_values_and_metadata(tiny):
    for L in (4, 6):
        assert tiny.spins[L].shape == (240, L, L) and tiny.spins[L].dtype == np.int8
        assert set(np.unique(tiny.spins[L])) <= {-1, 1}
        np.testing.assert_array_equal(tiny.temperatures[L], np.repeat([1.0, 2.0, 3.5], 80))
    info = tiny.meta["per_size"]["6"]
    assert info["thermalization"] == [30, 30, 30] and info["chains_per_temperature"] == [128, 128, 128]
    assert len(info["tau_int_abs_magnetization"]) == 3
    assert tiny.meta["seed"] == 3 and tiny.meta["format"] == D.FORMAT
    # Physics sanity: T = 1 is ordered, T = 3.5 is not.
    m = np.abs(tiny.spins[6].reshape(3, 80, -1).mean(axis=2)).mean(axis=1)
    assert m[0] > 0.95 and m[2] < 0.5


def test_more_samples_than_chains_uses_spaced_snapshots():
    data = D.generate([4], [2.5], samples=100, seed=0, thermalization=20, max_chains=64, autocorr_sweeps=20)
    info = data.meta["per_size"]["4"]
    assert data.spins[4].shape == (100, 4, 4)
    assert info["chains_per_temperature"] == [64] and info["sweeps_between"][0] >= 1


def test_samples_per_temperature_and_default_thermalization_by_temperature():
    data = D.generate([4], [1.0, 2.3], samples=[64, 128], seed=1, autocorr_sweeps=10)
    np.testing.assert_array_equal(data.temperatures[4], np.repeat([1.0, 2.3], [64, 128]))
    assert data.meta["samples"] == [64, 128]
    # Far from Tc a few hundred sweeps; near Tc the full 20 tau(L).
    assert D.default_thermalization(64, 1.0) == 200 and D.default_thermalization(64, 2.27) == 3323
    assert D.default_thermalization(64, 2.2) < D.default_thermalization(64, 2.24) < D.default_thermalization(64)


def test_triangular_dataset_orders_at_its_own_tc():
    from cnnlab.physics.exact import TC_TRIANGULAR

    data = D.generate([12], [3.0, 5.0], samples=64, seed=2, lattice="triangular", autocorr_sweeps=10)
    m = np.abs(data.spins[12].reshape(2, 64, -1).mean(axis=2)).mean(axis=1)
    assert m[0] > 0.9 and m[1] < 0.4  # T = 3.0 < 4/ln 3 = 3.64 is ordered, 5.0 is not
    assert data.meta["lattice"] == "triangular" and data.meta["tc"] == TC_TRIANGULAR
    with pytest.raises(ValueError, match="multiple of 3"):
        D.generate([8], [3.0], samples=64, lattice="triangular")


def test_round_trip(tiny, tmp_path):
    path = D.save(tiny, tmp_path / "d.npz")
    back = D.load(path)
    for L in (4, 6):
        np.testing.assert_array_equal(back.spins[L], tiny.spins[L])
        np.testing.assert_array_equal(back.temperatures[L], tiny.temperatures[L])
    assert back.meta["per_size"] == json.loads(json.dumps(tiny.meta["per_size"]))


def test_refuses_foreign_npz(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a cnnlab Ising dataset: no valid 'meta'"):
        D.load(path)
    np.savez(path, meta=np.array(json.dumps({"format": "something-else"})))
    with pytest.raises(ValueError, match="format 'something-else', expected 'cnnlab-ising-dataset'"):
        D.load(path)


def test_refuses_non_npz_and_missing_files(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a readable cnnlab Ising dataset"):
        D.load(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load(tmp_path / "nothing.npz")


def test_refuses_corrupted_and_newer_files(tiny, tmp_path):
    path = D.save(tiny, tmp_path / "d.npz")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["spins_L4"] = arrays["spins_L4"].copy()
    arrays["spins_L4"][0, 0] ^= 1  # one flipped spin
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="checksum mismatch"):
        D.load(bad)
    meta = json.loads(str(arrays["meta"]))
    meta["version"] = D.VERSION + 1
    arrays["spins_L4"][0, 0] ^= 1
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="version 2 is not supported"):
        D.load(bad)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])  # a truncated download
    with pytest.raises(ValueError, match="not a readable cnnlab Ising dataset"):
        D.load(path)


def test_load_ising_dataset_for_training(tiny, tmp_path):
    path = D.save(tiny, tmp_path / "d.npz")
    ds = D.load_ising_dataset(path, L=6, test_fraction=0.25)
    assert ds.input_shape == (1, 6, 6) and ds.classes == ["disordered", "ordered"]
    assert len(ds.y_train) + len(ds.y_test) == 240 and len(ds.y_test) == 60
    assert set(ds.x_train.unique().tolist()) == {-1.0, 1.0}
    T_train = np.array(ds.meta["temperatures_train"])
    np.testing.assert_array_equal(ds.y_train.numpy(), (T_train < TC).astype(int))
    assert D.load_ising_dataset(path).input_shape == (1, 4, 4)  # default: the smallest L
    with pytest.raises(ValueError, match=r"L=8 is not in .* it holds sizes \[4, 6\]"):
        D.load_ising_dataset(path, L=8)
    # The registry name used by `cnnlab train --dataset ising:PATH`.
    assert load_dataset(f"ising:{path}").input_shape == (1, 4, 4)


def test_cache_path_is_under_cnnlab_data_and_depends_on_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    a = D.cache_path([16, 32], [1.0, 2.0], 100)
    assert a.parent == tmp_path / "ising" and a.suffix == ".npz"
    assert a == D.cache_path([16, 32], [1.0, 2.0], 100)
    assert a != D.cache_path([16, 32], [1.0, 2.0], 100, seed=1)
    assert a != D.cache_path([16], [1.0, 2.0], 100)


def test_generate_argument_errors():
    with pytest.raises(ValueError, match="must be even"):
        D.generate([5], [2.0], samples=4)
    with pytest.raises(ValueError, match="samples must be an integer between 1 and"):
        D.generate([4], [2.0], samples=0)
    with pytest.raises(ValueError, match="one per temperature"):
        D.generate([4], [2.0, 3.0], samples=[4])
    # Sizes are estimated before anything is allocated.
    with pytest.raises(ValueError, match=r"dataset: 1048576 chains of 256x256 would need about .* of memory"):
        D.generate([256], [2.0], samples=2**20, thermalization=1)
    with pytest.raises(ValueError, match=r"spin updates \(limit 1e\+14"):
        D.generate([2048], [2.0], samples=2**20)
