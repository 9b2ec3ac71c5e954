"""Write the course notebooks (``notebooks/*.ipynb``) from their sources in ``notebooks/sources/``.

Each source is a plain Python file in the "percent" format that editors (VS Code, PyCharm, Spyder,
jupytext) understand: ``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell whose lines
are comments (``# `` is stripped). The notebooks are written without outputs and with minimal
metadata, so that the repository holds only what a person wrote; ``tests/test_notebooks.py`` checks
that the committed notebooks are exactly what this script writes.

Usage::

    python notebooks/build_notebooks.py            # rewrite every notebook
    python notebooks/build_notebooks.py --check    # exit 1 if a notebook differs from its source
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
KERNEL = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def parse_cells(text: str) -> list[tuple[str, str]]:
    """Split percent-format text into ``(kind, source)`` cells, kind ``"code"`` or ``"markdown"``.

    Example:
        >>> parse_cells("# %% [markdown]\\n# # Title\\n#\\n# text\\n# %%\\nx = 1\\n")
        [('markdown', '# Title\\n\\ntext'), ('code', 'x = 1')]
    """
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"text before the first '# %%' cell marker: {line!r}")
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            bad = [ln for ln in lines if ln and not ln.startswith("#")]
            if bad:
                raise ValueError(f"markdown cell line does not start with '#': {bad[0]!r}")
            lines = [ln[2:] if ln.startswith("# ") else ln[1:] for ln in lines]
        source = "\n".join(lines).strip("\n")
        if source:
            out.append((kind, source))
    return out


def to_notebook(text: str) -> nbformat.NotebookNode:
    """A version-4 notebook without outputs from percent-format text."""
    nb = nbformat.v4.new_notebook(metadata=KERNEL)
    for i, (kind, source) in enumerate(parse_cells(text)):
        # Fixed cell ids keep the files identical from one build to the next.
        cell = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell)(source)
        cell["id"] = f"cell-{i}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(source: Path) -> str:
    return nbformat.writes(to_notebook(source.read_text(encoding="utf-8"))) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("*.py")):
        target = HERE / f"{source.stem}.ipynb"
        text = render(source)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target.name)
        if not args.check:
            target.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date (run python notebooks/build_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    if not args.check:
        print(f"wrote {len(stale)} notebook(s)" + (f": {', '.join(stale)}" if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
