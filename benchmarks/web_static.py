"""The static visualiser site in headless Chromium: its size, the first prediction after load, the forward passes.

Builds the site with the two default networks (``cnnlab web build``), serves it with
``python -m http.server`` on 127.0.0.1 and drives Debian's Chromium through playwright-core
(``tests/web_e2e/bench.mjs``; needs ``cd tests/web_e2e && npm ci``). Rows:

* ``site size``: every file of the site (the page, its ES modules, both networks' weights);
* ``first prediction``: from navigation start (and from DOMContentLoaded, and from the load event)
  until both networks' predictions are on the screen, for ``--loads`` fresh page loads (no cache), median;
* ``forward ...``: the browser engine's forward pass with every layer's activations (median over
  ``--repeat`` runs on the page's drawing), each network and both; ``window.cnnlab.forward`` adds the
  conversion to nested arrays; ``whole update`` is what one pen stroke costs: preprocessing,
  both forward passes and the redraw of every layer; ``... unit pinned``: the same with a conv or a dense
  unit pinned (a real click on it), so the inspector, its weights drawn in place and the shared-weights
  outlines are redrawn too; ``shift sweep``: every network on the digit moved by -8..8 px both ways
  (68 forward passes; the page runs it once the pen rests, not per stroke);
* ``ising``: the Ising playground's checkerboard Metropolis (``static/js/ising-mc.js``) at L = 128 in
  spin updates per second at T = 2.0, Tc, 3.0 and 5.0 (median of 50-sweep runs after 200 warm-up
  sweeps; more proposals draw a random number at high T), and the CNN's P(ordered) at L = 64 and 128
  (two forward passes: the configuration and its flip).

Targets (issues #14 and #13): site <= 2 MB, first prediction <= 300 ms, both forward passes <= 10 ms,
a pen stroke's whole update with a unit pinned <= 30 ms, >= 50 million spin updates per second at
L = 128 (the slowest of the temperatures).

Usage::

    PYTHONPATH=src python benchmarks/web_static.py [--loads 5] [--repeat 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "site_bytes": 2_000_000,
    "first_prediction_ms": 300.0,
    "forward_both_ms": 10.0,
    "pinned_update_ms": 30.0,
    "ising_spin_updates_per_second": 50e6,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="fresh page loads for the first-prediction time")
    parser.add_argument("--repeat", type=int, default=200, help="runs per forward-pass timing")
    parser.add_argument("--chromium", default=os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    import torch

    from cnnlab.train.environment import system_info
    from cnnlab.web.site import build

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = build(Path(tmp) / "site")
        build_s = time.perf_counter() - t0
        server = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", report["out"], "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            port = re.search(r"port (\d+)", server.stdout.readline()).group(1)
            job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
            job.write_text(
                json.dumps(
                    {
                        "url": f"http://127.0.0.1:{port}/",
                        "chromium": args.chromium,
                        "loads": args.loads,
                        "repeat": args.repeat,
                        "ising": True,
                    }
                )
            )
            driver = ROOT / "tests/web_e2e/bench.mjs"
            subprocess.run(["node", str(driver), str(job), str(out)], check=True, cwd=driver.parent, timeout=600)
            measured = json.loads(out.read_text())
        finally:
            server.terminate()
            server.wait(timeout=20)

    loads = measured["loads"]
    first = statistics.median(x["first_prediction_ms"] for x in loads)
    after_dcl = statistics.median(x["first_prediction_ms"] - x["dom_content_loaded_ms"] for x in loads)
    after_load = statistics.median(x["first_prediction_ms"] - x["load_event_ms"] for x in loads)
    pinned = {k: v for k, v in measured["timings"].items() if k.endswith(": pinned")}
    if not all(pinned.values()):
        raise SystemExit(f"a unit could not be pinned for the timing: {pinned}")
    rows = {k: round(v, 3) for k, v in measured["timings"].items() if k not in pinned}
    result = {
        "site_bytes": report["bytes"],
        "site_files": report["files"],
        "model_bytes": {m["name"]: m["bytes"] for m in report["models"]},
        "build_seconds": round(build_s, 3),
        "first_prediction_ms": round(first, 1),
        "first_prediction_after_domcontentloaded_ms": round(after_dcl, 1),
        "first_prediction_after_load_event_ms": round(after_load, 1),
        "loads": loads,
        "timings_ms": rows,
        "ising": measured["ising"],
        "browser": measured.get("userAgent"),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "targets": TARGETS,
        "system": system_info(torch.device("cpu")),  # the machine serving and running the browser
    }
    result["meets_targets"] = {
        "site_bytes": report["bytes"] <= TARGETS["site_bytes"],
        "first_prediction_ms": first <= TARGETS["first_prediction_ms"],
        "forward_both_ms": rows["forward, both networks"] <= TARGETS["forward_both_ms"],
        "pinned_update_ms": max(v for k, v in rows.items() if "pinned" in k) <= TARGETS["pinned_update_ms"],
        "ising_spin_updates_per_second": min(measured["ising"]["spin_updates_per_second_L128"].values())
        >= TARGETS["ising_spin_updates_per_second"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"static site: {report['files']} files, {report['bytes'] / 1e6:.2f} MB (target <= 2 MB); built in {build_s:.2f} s"
    )
    print(f"  models: {', '.join(f'{k} {v / 1e3:.0f} kB' for k, v in result['model_bytes'].items())}")
    print(
        f"first prediction: median {first:.0f} ms from navigation start over {len(loads)} fresh loads "
        f"({after_dcl:.0f} ms after DOMContentLoaded, {after_load:.0f} ms after the load event; target <= 300 ms); each: "
        + ", ".join(f"{x['first_prediction_ms']:.0f}" for x in loads)
    )
    print(f"{'in the browser (median of ' + str(args.repeat) + ')':<46} {'ms':>8}")
    for name, ms in rows.items():
        print(f"{name:<46} {ms:>8.2f}")
    print("Ising playground, checkerboard Metropolis at L = 128 (target >= 50 million spin updates/s):")
    for name, rate in measured["ising"]["spin_updates_per_second_L128"].items():
        print(f"  {name:<10} {rate / 1e6:8.1f} million spin updates/s")
    cnn = measured["ising"]["cnn_p_ordered_ms"]
    print("  CNN P(ordered), x and -x: " + ", ".join(f"{k} {v:.2f} ms" for k, v in cnn.items()))
    print(
        f"targets met: {result['meets_targets']}  (load average {result['load_average']:.1f} on {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
