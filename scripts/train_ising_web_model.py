"""Train the Ising phase classifier shipped with the web playground and write its run folder.

    PYTHONPATH=src python scripts/train_ising_web_model.py [--L 64] [--seed 0] [--threads 2]

runs ``cnnlab ising tc --no-dense --seed SEED --out WORK --json`` (the installed console script,
every other setting at its default: real Monte Carlo data at L = 24, 32, 64, the GAP CNN with
circular padding trained on T < 2.0 vs T > 2.5), takes the saved run folder ``WORK/model-L{L}`` and
copies it to ``src/cnnlab/assets/web-ising`` with its provenance added to ``config.json``: the
command, the seed, the Tc estimate of the run, Tc(L) of this network, the dataset's cache file and
the SHA-256 of the weights. ``cnnlab web build`` turns that folder into ``models/ising.cnnlab``
(:mod:`cnnlab.web.ising`); the classifier is ``softmax((f(x) + f(-x)) / 2)`` on spins in {-1, +1}
(``"symmetrize": "z2"``). ``--out`` writes elsewhere (e.g. to compare with the shipped folder).

The same seed gives the same weights on the same machine (the networks train on one torch thread;
the Monte Carlo does not depend on the thread count): compare the printed SHA-256.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", type=int, default=64, help="which size's network to ship (one of tc's sizes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="Monte Carlo threads (results do not depend on it)")
    parser.add_argument("--out", type=Path, default=ROOT / "src/cnnlab/assets/web-ising")
    parser.add_argument("--work", type=Path, default=None, help="tc's run folder (default: a temporary folder)")
    args = parser.parse_args()

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp) / "tc"
        command = ["cnnlab", "ising", "tc", "--no-dense", "--seed", str(args.seed), "--threads", str(args.threads)]
        command += ["--out", str(work), "--json"]
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "cnnlab.cli.main", *command[1:]], capture_output=True, text=True, env=env
        )
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        source = work / f"model-L{args.L}"
        if not (source / "config.json").is_file():
            raise SystemExit(f"--L {args.L}: tc saved no {source} (sizes: {result['config']['sizes']})")
        weights = (source / "model.safetensors").read_bytes()
        config = json.loads((source / "config.json").read_text())
        per_size = result["per_size"][str(args.L)]
        config |= {
            "title": f"Ising CNN (trained at L = {args.L})",
            "trained_by": "scripts/train_ising_web_model.py",
            "date": datetime.date.today().isoformat(),
            "provenance": {
                "command": " ".join(command[:-3]),
                "seed": args.seed,
                "sizes": result["config"]["sizes"],
                "trained_on": f"T < {config['ising']['train_below']} (ordered) vs T > {config['ising']['train_above']} "
                f"(disordered), {result['config']['samples']} configurations per temperature, half for training",
                "tc_estimate": result["tc_estimate"],
                "tc_error": result["tc_error"],
                "tc_of_size": per_size["cnn"]["tc"],
                "accuracy": per_size["cnn"]["accuracy"],
                "dataset": Path(result.get("dataset") or "").name,
                "weights_sha256": hashlib.sha256(weights).hexdigest(),
                "seconds": round(seconds, 1),
            },
        }
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "model.safetensors", args.out / "model.safetensors")
        (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(
        f"wrote {args.out}: Tc estimate {result['tc_estimate']:.4f} +- {result['tc_error']:.4f}, "
        f"Tc(L={args.L}) {per_size['cnn']['tc']:.4f}, {len(weights)} bytes of weights, "
        f"sha256 {config['provenance']['weights_sha256'][:16]}..., {seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
