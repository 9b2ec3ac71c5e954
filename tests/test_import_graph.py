"""scripts/import_graph.py: no import cycle, no upward import (the layering of ARCHITECTURE.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "import_graph.py"


@pytest.fixture(scope="module")
def graph() -> dict:
    out = subprocess.run([sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_no_cycle(graph):
    assert graph["cycles"] == []


def test_no_upward_import(graph):
    assert graph["upward"] == [], "upward imports (see the rank table in scripts/import_graph.py): " + ", ".join(
        f"{e['source']}:{e['line']} -> {e['target']}" for e in graph["upward"]
    )


def test_counts_modules_and_lines(graph):
    modules = {row["module"]: row["lines"] for row in graph["modules"]}
    shapes = ROOT / "src" / "cnnlab" / "shapes.py"
    assert modules["cnnlab.shapes"] == len(shapes.read_text().splitlines())
    assert graph["total_lines"] == sum(modules.values())
    assert graph["total_modules"] == len(modules)


def test_finds_a_cycle_and_an_upward_import(tmp_path):
    """The script itself on a made-up package: core imports cli (upward), a <-> b (cycle)."""
    pkg = tmp_path / "cnnlab"
    (pkg / "cli").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli" / "__init__.py").write_text("")
    (pkg / "shapes.py").write_text("def f():\n    from cnnlab.cli import main\n")
    (pkg / "cli" / "main.py").write_text("from cnnlab import shapes\n")
    (pkg / "cli" / "a.py").write_text("from . import b\n")
    (pkg / "cli" / "b.py").write_text("import cnnlab.cli.a\n")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", "--src", str(tmp_path)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert result["cycles"] == [["cnnlab.cli.a", "cnnlab.cli.b"], ["cnnlab.cli.main", "cnnlab.shapes"]]
    assert [(e["source"], e["target"], e["line"], e["lazy"]) for e in result["upward"]] == [
        ("cnnlab.shapes", "cnnlab.cli.main", 2, True)
    ]
