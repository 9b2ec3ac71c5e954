"""What the ``cnnlab ising`` commands write: result dataclasses, their JSON and their figures.

Each ``write(folder)`` puts ``result.json`` and the PNG figures into a run folder, every file
atomically (a temporary file renamed into place); the CLI only parses arguments and prints.

Example:
    >>> from cnnlab.physics.ising import simulate
    >>> report = SimulationReport.from_simulation(simulate(8, [1.5, 3.0], sweeps=50, thermalization=50))
    >>> [round(r["onsager_energy"], 4) for r in report.rows]
    [-1.9511, -0.8173]
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.physics import exact

__all__ = ["SeedSpread", "SimulationReport", "write_json", "write_rg", "write_tc"]


def finite(value):
    """``value`` with every NaN or infinite float replaced by None, so that it is valid JSON.

    Example:
        >>> finite({"tc": float("nan"), "sizes": [16, 2.5]})
        {'tc': None, 'sizes': [16, 2.5]}
    """
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, float) or hasattr(value, "dtype"):
        number = float(value) if not isinstance(value, (bool, int)) else value
        return number if isinstance(number, (bool, int)) or math.isfinite(number) else None
    return value


def write_json(folder, payload: dict, name: str = "result.json") -> Path:
    """``payload`` as indented JSON in ``folder/name`` (NaN as null), written atomically."""
    from cnnlab.io import atomic_write_text

    path = Path(folder) / name
    atomic_write_text(path, json.dumps(finite(payload), indent=1, allow_nan=False) + "\n")
    return path


@dataclass
class SimulationReport:
    """Observables per temperature (with errors) beside the exact results, from :func:`simulate`."""

    config: dict
    rows: list[dict]
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_simulation(cls, sim) -> SimulationReport:
        rows = sim.observables()
        triangular = sim.config.lattice == "triangular"
        for row in rows:
            if triangular:
                row["exact_energy"] = float(exact.triangular_energy(row["T"]))
            else:
                row["onsager_energy"] = float(exact.onsager_energy(row["T"]))
                row["yang_magnetization"] = float(exact.yang_magnetization(row["T"]))
        return cls(sim.to_dict()["config"], rows, dict(sim.extra))

    @property
    def tc_exact(self) -> float:
        return exact.TC_TRIANGULAR if self.config.get("lattice") == "triangular" else exact.TC

    def to_dict(self) -> dict:
        """The JSON: config, rows, and at the top level each key for one T (or a list per key)."""
        out = {"config": self.config, "tc_exact": self.tc_exact, "results": self.rows, **self.extra}
        rows = self.rows
        out.update(rows[0] if len(rows) == 1 else {key: [r[key] for r in rows] for key in rows[0]})
        return out

    def write(self, folder) -> dict:
        """``observables.png`` and ``result.json`` in ``folder``; returns the JSON (with ``run_dir``)."""
        from cnnlab.physics import plots

        plots.plot_observables(
            self.rows, Path(folder) / "observables.png", exact_curves=self.config.get("lattice") != "triangular"
        )
        payload = self.to_dict() | {"run_dir": str(folder)}
        write_json(folder, payload)
        return payload


def write_tc(result, folder, save_models: bool = True) -> dict:
    """``tc.png``, ``result.json`` and (``save_models``) one loadable run folder per size.

    The models go to ``folder/model-L{L}`` (:func:`cnnlab.physics.tc.save_model`): read them with
    ``cnnlab.load(folder / "model-L64")``.
    """
    from cnnlab.physics import plots
    from cnnlab.physics.tc import save_model

    payload = result.to_dict() | {"run_dir": str(folder)}
    plots.plot_tc(payload, Path(folder) / "tc.png")
    if save_models:
        payload["models"] = {}
        for L, net in result.models.items():
            tc_of_size = result.per_size[L]["cnn"]["tc"]
            path = save_model(net, L, Path(folder) / f"model-L{L}", result.config, tc_of_size)
            payload["models"][str(L)] = str(path)
    write_json(folder, payload)
    return payload


@dataclass
class SeedSpread:
    """``cnnlab ising tc --seeds N``: the estimate of every seed, their mean and spread."""

    seeds: list[int]
    estimates: list[float]
    errors: list[float]

    def to_dict(self) -> dict:
        import numpy as np

        values = np.asarray(self.estimates)
        spread = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        mean = float(values.mean())
        return {
            "seeds": self.seeds,
            "tc_estimates": self.estimates,
            "tc_errors": self.errors,
            "tc_mean": mean,
            "tc_spread": spread,
            "tc_exact": exact.TC,
            "relative_error_of_mean": abs(mean - exact.TC) / exact.TC,
            "max_relative_error": float(np.max(np.abs(values - exact.TC)) / exact.TC),
        }


def write_rg(result, folder) -> dict:
    """``rg_flow.png``, ``rg_lattices.png`` and ``result.json`` of a :class:`cnnlab.physics.rg.RGResult`."""
    from cnnlab.physics import plots

    payload = result.to_dict() | {"run_dir": str(folder)}
    plots.plot_rg_flow(payload, Path(folder) / "rg_flow.png")
    plots.plot_rg_lattices(result.examples, Path(folder) / "rg_lattices.png")
    write_json(folder, payload)
    return payload
