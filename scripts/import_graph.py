"""The import graph of ``src/cnnlab``: modules, line counts, import cycles and upward imports.

    python scripts/import_graph.py            # tables
    python scripts/import_graph.py --json     # one JSON object (tests/test_import_graph.py reads it)

Every ``import`` statement counts, including those inside functions (a lazy import is still a
dependency) and those under ``if TYPE_CHECKING`` (a type is still knowledge of the other module).
Imports inside docstrings (doctests) do not count. ``from cnnlab import spec`` is an edge to the
module ``cnnlab.spec``; ``from cnnlab import __version__`` is an edge to the package root.

The layering follows ``ARCHITECTURE.md``: each part of the package has a rank, and a module may
import modules of its own part or of parts with a lower rank. An import of a part with the same or
a higher rank is an *upward* import (parts of equal rank are siblings that do not know each other).

=====  ==========================================================  ===================================
rank   parts                                                       why here
=====  ==========================================================  ===================================
0      ``_version``, ``io``                                        leaves: version string, atomic file
                                                                   writes
1      ``shapes``, ``plots``                                       the conv/pool arithmetic; figures
                                                                   (written atomically; matplotlib is
                                                                   imported only when drawing)
2      ``spec``                                                    layer specs, text form, presets
3      ``engine``, ``summary``, ``explain``                        built from specs
4      ``reference``                                               NumPy layers (copies engine weights)
5      ``data``                                                    datasets, normalisation
6      ``train``                                                   the fit loop, run folders
7      ``model``                                                   the trained model
8      ``evaluate``, ``export``, ``experiments``, ``physics``,     applications of the core
       ``web``
9      ``cli``                                                     the command line
10     ``cnnlab`` (the package root)                               the Python API (``cnnlab.load``)
=====  ==========================================================  ===================================
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = "cnnlab"

#: Part -> rank (lower ranks are more basic). A module belongs to the part named by its first
#: component below ``cnnlab`` (``cnnlab.train.loop`` -> ``train``); the root package is ``cnnlab``.
RANKS: dict[str, int] = {
    "_version": 0,
    "io": 0,
    "plots": 1,
    "shapes": 1,
    "spec": 2,
    "engine": 3,
    "summary": 3,
    "explain": 3,
    "reference": 4,
    "data": 5,
    "train": 6,
    "model": 7,
    "evaluate": 8,
    "export": 8,
    "experiments": 8,
    "physics": 8,
    "web": 8,
    "cli": 9,
    PACKAGE: 10,
}


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` imports ``target`` at ``line`` (``lazy``: inside a function)."""

    source: str
    target: str
    line: int
    lazy: bool


def module_files(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package."""
    modules = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def part_of(module: str) -> str:
    """``cnnlab.train.loop`` -> ``train``; the package root -> ``cnnlab``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module named by a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str, path: Path, known: set[str]) -> list[Edge]:
    """The package-internal imports of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    edges = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                        edges.append(Edge(module, _known_prefix(alias.name, known), child.lineno, lazy))
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(module, is_package, child)
                if base == PACKAGE or base.startswith(PACKAGE + "."):
                    for alias in child.names:
                        target = f"{base}.{alias.name}"
                        target = target if target in known else _known_prefix(base, known)
                        edges.append(Edge(module, target, child.lineno, lazy))
            visit(child, inner)

    visit(tree, False)
    return [e for e in edges if e.target != module]


def _known_prefix(name: str, known: set[str]) -> str:
    """The longest prefix of ``name`` that is a module of the package."""
    parts = name.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def cycles(nodes: list[str], edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {n: set() for n in nodes}
    for e in edges:
        graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(1000, 10 * len(nodes)))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def upward(edges: list[Edge]) -> list[Edge]:
    """Imports of a part with the same or a higher rank (imports within one part are fine)."""
    out = []
    for e in edges:
        source, target = part_of(e.source), part_of(e.target)
        if source != target and RANKS[target] >= RANKS[source]:
            out.append(e)
    return out


def analyse(src: Path = SRC) -> dict:
    """Modules with line counts, edges, cycles and upward imports, as plain data."""
    files = module_files(src)
    unranked = sorted({part_of(m) for m in files} - set(RANKS))
    if unranked:
        raise SystemExit(f"parts without a rank in RANKS: {', '.join(unranked)}; add them to scripts/import_graph.py")
    known = set(files)
    edges = [e for m, p in files.items() for e in imports(m, p, known)]
    lines = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in files.items()}
    parts: dict[str, dict] = {}
    for m, n in lines.items():
        row = parts.setdefault(part_of(m), {"rank": RANKS[part_of(m)], "modules": 0, "lines": 0})
        row["modules"] += 1
        row["lines"] += n
    return {
        "modules": [{"module": m, "lines": n, "part": part_of(m)} for m, n in lines.items()],
        "parts": dict(sorted(parts.items(), key=lambda kv: (kv[1]["rank"], kv[0]))),
        "total_modules": len(lines),
        "total_lines": sum(lines.values()),
        "largest": [{"module": m, "lines": n} for m, n in sorted(lines.items(), key=lambda kv: -kv[1])[:10]],
        "edges": len(edges),
        "cycles": cycles(sorted(files), edges),
        "upward": [
            {
                "source": e.source,
                "target": e.target,
                "line": e.line,
                "lazy": e.lazy,
                "ranks": [RANKS[part_of(e.source)], RANKS[part_of(e.target)]],
            }
            for e in upward(edges)
        ],
    }


def print_report(result: dict, verbose: bool) -> None:
    if verbose:
        for row in result["modules"]:
            print(f"{row['lines']:>5}  {row['module']}")
        print()
    print(f"{'rank':>4}  {'part':<12} {'modules':>7} {'lines':>6}")
    for name, row in result["parts"].items():
        print(f"{row['rank']:>4}  {name:<12} {row['modules']:>7} {row['lines']:>6}")
    print(f"{'':>4}  {'total':<12} {result['total_modules']:>7} {result['total_lines']:>6}")
    print("\nlargest modules: " + ", ".join(f"{r['module']} ({r['lines']})" for r in result["largest"][:5]))
    print(f"\n{result['edges']} internal imports")
    print(f"cycles: {len(result['cycles'])}")
    for component in result["cycles"]:
        print("  " + " <-> ".join(component))
    print(f"upward imports: {len(result['upward'])}")
    for e in result["upward"]:
        lazy = " (inside a function)" if e["lazy"] else ""
        print(f"  {e['source']}:{e['line']} -> {e['target']}  rank {e['ranks'][0]} -> {e['ranks'][1]}{lazy}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--modules", action="store_true", help="also list every module with its line count")
    parser.add_argument("--src", type=Path, default=SRC, help="the src/ folder to analyse (default: this checkout's)")
    args = parser.parse_args(argv)
    result = analyse(args.src)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result, args.modules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
