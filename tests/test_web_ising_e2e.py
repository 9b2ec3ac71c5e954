"""The Ising playground (ising.html) in a real browser, on the static site, against the physics in Python.

`cnnlab web build` writes the site, `python -m http.server` serves it, and headless Chromium
(tests/web_e2e/ising.mjs, one launch) runs `window.cnnlab.ising`: the Monte Carlo against Onsager and
Yang (and against the compiled Monte Carlo of cnnlab.physics where the infinite lattice is not the
reference), the exact curves against cnnlab.physics.exact, the CNN against the shipped network in
PyTorch (cnnlab.web.ising.p_ordered), the coarse-graining against cnnlab.physics.rg; then the page by
keyboard, P(ordered) as the slider moves, a 390 px phone, and axe-core. Needs Chromium and
playwright-core (see tests/web_browser.py).
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from web_browser import E2E, cnnlab_serve, env, require_browser, run_driver, static_server

from cnnlab.physics import rg
from cnnlab.physics.compiled import CompiledLattice
from cnnlab.physics.exact import TC, enumerate_exact, onsager_energy, yang_magnetization
from cnnlab.physics.ising import simulate
from cnnlab.web import ising

pytestmark = pytest.mark.slow
TEMPERATURES = [0.3, 0.5, 1.0, 1.5, 2.0, 2.2, 2.26, TC, 2.28, 2.5, 3.0, 4.0, 10.0]
SIMULATIONS = [
    {"L": 32, "T": 2.0, "sweeps": 2000, "seed": 0},
    {"L": 32, "T": 3.0, "sweeps": 2000, "seed": 0},
    {"L": 32, "T": 1.5, "sweeps": 200, "seed": 1, "spins": True},
    {"L": 32, "T": 3.5, "sweeps": 200, "seed": 1, "spins": True},
    {"L": 64, "T": 2.25, "sweeps": 50, "seed": 2, "spins": True},
    {"L": 16, "T": 2.4, "sweeps": 50, "seed": 3, "spins": True, "start": "hot"},
    # 4 x 4: against the exact enumeration of its 65536 states.
    {"L": 4, "T": 1.5, "sweeps": 200000, "seed": 4},
    {"L": 4, "T": 2.5, "sweeps": 200000, "seed": 4},
    {"L": 4, "T": 4.0, "sweeps": 200000, "seed": 4},
]
WOLFF_TEMPERATURES = [1.5, 2.5, 4.0]
BAD = [
    ({"L": 33, "T": 2.0, "sweeps": 10}, "L must be even"),
    ({"L": 256, "T": 2.0, "sweeps": 10}, r"L must be an integer in \[2, 128\]"),
    ({"L": 32, "T": 0, "sweeps": 10}, "T must be a finite temperature > 0, got 0"),
    ({"L": 32, "T": None, "sweeps": 10}, "T must be a finite temperature > 0, got null"),
    ({"L": 32, "T": 2.0, "sweeps": 0}, r"sweeps must be an integer in \[1, 10000000\], got 0"),
    ({"L": 32, "T": 2.0, "sweeps": 2.5}, "sweeps must be an integer"),
    ({"L": 128, "T": 2.0, "sweeps": 10**6}, "spin updates is over the limit"),
    ({"L": 32, "T": 2.0, "sweeps": 10, "seed": -1}, r"seed must be an integer in \[0, 4294967295\]"),
    ({"L": 32, "T": 2.0, "sweeps": 10, "start": "warm"}, 'start must be "cold" or "hot"'),
]
SERIOUS = ("serious", "critical")


def lattices() -> list[np.ndarray]:
    """Random spins (many 2x2 ties), mostly-up spins, and an equilibrium configuration at Tc."""
    rng = np.random.default_rng(7)
    random = rng.choice([-1, 1], size=(16, 16))
    mostly_up = np.where(rng.random((32, 32)) < 0.8, 1, -1)
    lattice = CompiledLattice.create(64, [TC], chains=1, start="cold", seed=5)
    lattice.sweep(300)
    at_tc = lattice.spins().reshape(-1, 64, 64)[0]
    return [random.astype(np.int8), mostly_up.astype(np.int8), np.asarray(at_tc, dtype=np.int8)]


def job(tmp) -> dict:
    return {
        "temperatures": TEMPERATURES,
        "simulations": SIMULATIONS,
        "bad": [options for options, _ in BAD],
        "wolffTemperatures": WOLFF_TEMPERATURES,
        "lattices": [{"side": x.shape[0], "values": x.reshape(-1).tolist()} for x in lattices()],
        "screenshot": str(tmp / "ising.png"),
        "phoneScreenshot": str(tmp / "ising-phone.png"),
    }


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("ising-site")
    built = subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", "web", "build", "--out", str(tmp / "site")],
        capture_output=True,
        text=True,
        env=env(),
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    with static_server(tmp / "site") as (url, _):
        out = run_driver("ising.mjs", job(tmp) | {"url": url}, tmp, 600)
    assert "exception" not in out, out["exception"]
    return out


def test_no_errors_and_the_header_links(seen):
    assert seen["errors"] == []
    assert seen["backLink"] == "index.html"


def test_exact_curves_equal_python(seen):
    js = np.array(seen["exact"])
    np.testing.assert_allclose(js[:, 0], onsager_energy(TEMPERATURES), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(js[:, 1], yang_magnetization(TEMPERATURES), rtol=1e-12, atol=1e-12)
    assert seen["tc"] == pytest.approx(TC, abs=1e-15)


def test_simulate_against_onsager_and_yang(seen):
    low, high = seen["simulations"][:2]
    assert low["energy_per_spin"] == pytest.approx(-1.7456, rel=0.01)
    assert low["energy_per_spin"] == pytest.approx(float(onsager_energy(2.0)), rel=0.01)
    assert abs(low["abs_magnetization"] - float(yang_magnetization(2.0))) < 0.02
    assert high["energy_per_spin"] == pytest.approx(-0.8173, rel=0.01)
    assert high["energy_per_spin"] == pytest.approx(float(onsager_energy(3.0)), rel=0.01)
    # Above Tc Yang's m is 0 only for the infinite lattice: at L = 32 <|m|> ~ sqrt(chi T / N) ~ 0.09.
    # The reference is the compiled Monte Carlo of cnnlab.physics at the same L and T.
    ref = simulate(32, [3.0], sweeps=2000, chains=64, seed=0).observables()[0]
    assert abs(high["abs_magnetization"] - ref["abs_magnetization"]) < 0.01 + 4 * ref["abs_magnetization_error"]
    assert high["abs_magnetization"] > 0.05  # the finite-size value, far from Yang's 0
    assert low["equilibration"] == 200 and low["sweeps"] == 2000


def test_metropolis_and_wolff_on_4x4_equal_exact_enumeration(seen):
    # 200000 measurements; the 4 x 4 lattice decorrelates in a few sweeps: errors ~ 0.002.
    runs = [(o["T"], s) for o, s in zip(SIMULATIONS, seen["simulations"]) if o["L"] == 4]
    runs += [(r["T"], r) for r in seen["wolffOnly"]]
    assert len(runs) == 6
    for T, got in runs:
        exact = enumerate_exact(4, T)
        assert got["energy_per_spin"] == pytest.approx(exact["energy_per_spin"], abs=0.01), T
        assert got["abs_magnetization"] == pytest.approx(exact["abs_magnetization"], abs=0.01), T


def xoshiro128ss(state: list[int], n: int) -> list[int]:
    """xoshiro128** as in Blackman & Vigna's reference C code (32-bit words)."""
    s, out, mask = list(state), [], 0xFFFFFFFF
    rotl = lambda x, k: ((x << k) | (x >> (32 - k))) & mask
    for _ in range(n):
        out.append(rotl((s[1] * 5) & mask, 7) * 9 & mask)
        t = (s[1] << 9) & mask
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
    return out


def test_generator_is_xoshiro128starstar(seen):
    assert seen["rngWords"] == xoshiro128ss([1, 2, 3, 4], 12)
    assert seen["rngWords"][:4] == [11520, 0, 5927040, 70819200]


def test_reduced_motion_waits_for_play(seen):
    assert seen["reducedMotion"] == {"playing": False, "sweeps": 0, "button": "play"}


def test_simulate_reproduces_from_its_seed(seen):
    first, again, other = seen["simulations"][0], seen["again"], seen["otherSeed"]
    assert again["energy_per_spin"] == first["energy_per_spin"]
    assert again["abs_magnetization"] == first["abs_magnetization"]
    assert other["energy_per_spin"] != first["energy_per_spin"]


def test_simulate_refuses_bad_options(seen):
    for (options, message), answer in zip(BAD, seen["bad"]):
        assert "error" in answer, (options, answer)
        assert re.search(message, answer["error"]), (message, answer["error"])
    assert "must be an L x L lattice" in seen["badPredict"][0]["error"]
    assert "is not +1 or -1" in seen["badPredict"][1]["error"]


def test_cnn_equals_python_and_separates_the_phases(seen):
    with_spins = [(o, s) for o, s in zip(SIMULATIONS, seen["simulations"]) if o.get("spins")]
    assert len(with_spins) == len(seen["predictions"])
    for (options, sim), js, flipped in zip(with_spins, seen["predictions"], seen["flipped"]):
        spins = np.array(sim["spins"], dtype=np.float32).reshape(1, options["L"], options["L"])
        assert set(np.unique(spins)) <= {-1.0, 1.0}
        want = ising.p_ordered(spins)[0]
        assert js["p_ordered"] == pytest.approx(float(want), abs=1e-4), options
        assert flipped["p_ordered"] == pytest.approx(js["p_ordered"], abs=1e-6)  # Z2: P(x) = P(-x)
        assert sum(js["probabilities"]) == pytest.approx(1.0, abs=1e-6)
    p = {o["T"]: js["p_ordered"] for (o, _), js in zip(with_spins, seen["predictions"])}
    assert p[1.5] > 0.9 and p[3.5] < 0.1


def test_coarse_graining_equals_physics_rg(seen):
    for x, js in zip(lattices(), seen["coarse"]):
        side = x.shape[0]
        want_max, want_avg = x.astype(np.float64), x.astype(np.float64)
        for steps in (1, 2, 3):
            want_max, want_avg = rg.max_pool(want_max), rg.avg_pool(want_avg)
            n = side >> steps
            np.testing.assert_array_equal(np.array(js["max"][steps - 1]).reshape(n, n), want_max)
            np.testing.assert_allclose(np.array(js["avg"][steps - 1]).reshape(n, n), want_avg, atol=1e-6)
            # Majority rule: each step is Python's rule on the page's previous step; ties are a coin in both.
            previous = x if steps == 1 else np.array(js["majority"][steps - 2]).reshape(2 * n, 2 * n)
            got = np.array(js["majority"][steps - 1]).reshape(n, n)
            sums = rg._blocks(previous, 2).sum(axis=-1)
            want = rg.majority_rule(previous, np.random.default_rng(0))
            np.testing.assert_array_equal(got[sums != 0], want[sums != 0])
            assert set(np.unique(got[sums == 0])) <= {-1, 1}
    assert (rg._blocks(lattices()[0], 2).sum(axis=-1) == 0).any()  # the random lattice has ties to break


def test_page_by_keyboard(seen):
    keys = seen["keyboard"]
    assert keys["after"] == pytest.approx(keys["before"] + 0.02) and keys["paused"]
    assert seen["wolff"]["note"].startswith("Wolff: flipped a cluster of")
    size = int(seen["wolff"]["note"].split("cluster of ")[1].split()[0])
    assert seen["wolff"]["changed"] == size >= 1
    assert seen["tabOrder"][:8] == ["play", "wolff", "hot", "cold", "side", "seed", "speed", "blocks"]


def test_p_ordered_follows_the_slider(seen):
    low, high = seen["live"]
    assert (low["T"], high["T"]) == (1.5, 3.5)
    assert low["shownT"] == "T = 1.50" and high["shownT"] == "T = 3.50"
    assert low["p"] > 0.9 and high["p"] < 0.1
    for row in (low, high):
        spins = np.array(row["spins"], dtype=np.float32).reshape(1, row["L"], row["L"])
        assert row["p"] == pytest.approx(float(ising.p_ordered(spins)[0]), abs=1e-4)
        assert row["shownP"] == f"P(ordered) = {row['p']:.3f}"
    assert seen["canvasSizes"][0] == [64, 64] and seen["canvasSizes"][1] == [16, 16]


def test_phone_and_axe(seen):
    phone = seen["phone"]
    assert phone["scrollWidth"] <= phone["innerWidth"] == 390, phone["wide"]
    assert phone["wolff"].startswith("Wolff: flipped")
    if seen["axe"] is None:
        pytest.skip(f"axe-core is not installed in {E2E} (npm ci)")
    for where, violations in seen["axe"].items():
        serious = [v for v in violations if v["impact"] in SERIOUS]
        assert serious == [], (where, serious)


def test_the_same_page_under_cnnlab_serve(seen, tmp_path):
    with cnnlab_serve() as url:
        served = run_driver("ising.mjs", job(tmp_path) | {"url": url}, tmp_path, 600)
    assert "exception" not in served, served["exception"]
    assert served["errors"] == [] and served["backLink"] == "index.html"
    for a, b in zip(served["simulations"], seen["simulations"]):  # the same seeds: the same runs
        assert (a["energy_per_spin"], a["abs_magnetization"]) == (b["energy_per_spin"], b["abs_magnetization"])
    assert [p["p_ordered"] for p in served["predictions"]] == [p["p_ordered"] for p in seen["predictions"]]
