"""The course notebooks: committed without outputs, in sync with their sources, and runnable.

Each notebook is executed top to bottom with nbclient under ``CNNLAB_QUICK=1`` (small settings) in a
copy of ``notebooks/`` under ``tmp_path``; the Ising cache goes to ``tmp_path`` too. The checks read
the notebooks' printed results, so a notebook that runs but computes the wrong thing fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01_convolution_by_hand", "02_dnn_vs_cnn", "03_your_own_digits", "04_transfer_learning", "05_ising_phases"]
# What each notebook must print (values, not just headings): the oracles of the executed run.
EXPECTED = {
    "01_convolution_by_hand": [
        "output             [0.0, 0.0, 0.0, 4.0, 0.0]",
        "reference: [-1. -1. -3.  4. -6.]",
        "=    56",
        "=   896",
        "=  3488",
        "dL/dw = [4. 7. 6.]  dL/db = [5.]",
    ],
    "02_dnn_vs_cnn": ["quick mode: scikit-learn's 8x8 digits", "adam", "rmsprop", "cnn", "27,158"],
    # The shipped CNN reads all ten sample digits correctly once they are preprocessed.
    "03_your_own_digits": ["10 images in digits/", "CNN    correct: 100% preprocessed"],
    "04_transfer_learning": ["pretrained on digits[0,1,2,3,4]", "frozen", "finetune", "scratch"],
    "05_ising_phases": ["Tc (exact) = 2.269185", "extrapolated Tc(L -> inf)"],
}

FIGURES = {
    "01_convolution_by_hand": 0,
    "02_dnn_vs_cnn": 4,
    "03_your_own_digits": 3,
    "04_transfer_learning": 1,
    "05_ising_phases": 5,
}


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, NOTEBOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_source_has_a_notebook_and_the_list_is_complete():
    assert sorted(p.stem for p in (NOTEBOOKS / "sources").glob("*.py")) == NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_has_no_outputs(name):
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:80]
        assert cell["metadata"] == {}


def test_parse_cells_splits_markdown_and_code():
    nbformat = pytest.importorskip("nbformat")
    build = _module("build_notebooks")
    text = "# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\n# %%\n\n"
    assert build.parse_cells(text) == [("markdown", "# Title\n\ntext"), ("code", "x = 1")]
    with pytest.raises(ValueError, match="does not start with '#'"):
        build.parse_cells("# %% [markdown]\nnot a comment\n")
    with pytest.raises(ValueError, match="before the first"):
        build.parse_cells("x = 1\n# %%\n")
    nb = build.to_notebook(text)
    assert nbformat.validate(nb) is None and [c.cell_type for c in nb.cells] == ["markdown", "code"]


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_built_from_its_source(name):
    pytest.importorskip("nbformat")
    build = _module("build_notebooks")
    committed = (NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8")
    assert committed == build.render(NOTEBOOKS / "sources" / f"{name}.py"), (
        "notebook out of date: run python notebooks/build_notebooks.py"
    )


def test_sample_digits_are_what_the_script_draws(tmp_path):
    from PIL import Image

    written = _module("make_sample_digits").main(tmp_path)
    committed = sorted((NOTEBOOKS / "digits").glob("*.png"))
    assert [p.name for p in committed] == sorted(p.name for p in written)
    assert {p.name[0] for p in committed} == set("0123456789")
    for path in committed:
        assert path.stat().st_size < 20_000, f"{path.name} is not small"
        assert np.array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(tmp_path / path.name))), path.name
    # Both ink styles are present, and at least one image is in colour.
    assert any("dark-on-light" in p.name for p in committed) and any("light-on-dark" in p.name for p in committed)
    assert any(Image.open(p).mode == "RGB" for p in committed)


@pytest.fixture(scope="module")
def nbclient():
    for module, why in (
        ("nbclient", "nbclient is not installed (pip install nbclient)"),
        ("ipykernel", "ipykernel is not installed (pip install ipykernel)"),
    ):
        if importlib.util.find_spec(module) is None:
            pytest.skip(why)
    import nbclient as client

    return client


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
    return "".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_in_quick_mode(name, nbclient, tmp_path, monkeypatch):
    import nbformat

    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    monkeypatch.setenv("CNNLAB_QUICK", "1")
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))  # the Ising cache, never ~/.cache
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # The kernel imports cnnlab from this checkout even when it is not installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(work / f"{name}.ipynb", as_version=4)
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()
    text = _outputs_text(nb)
    for expected in EXPECTED[name]:
        assert expected in text, f"{name}: {expected!r} not in the output"
    if name == "05_ising_phases":  # even the quick classifier lands near Onsager's Tc = 2.269
        tc = float(re.search(r"extrapolated Tc\(L -> inf\) = ([0-9.]+)", text).group(1))
        assert abs(tc - 2.269) < 0.3, tc
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == FIGURES[name], f"{name}: {images} figures, expected {FIGURES[name]}"
