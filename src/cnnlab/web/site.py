"""The static visualiser site: the page, its ES modules and the networks as web model files.

``cnnlab web build --out DIR`` writes::

    DIR/index.html            the visualiser
    DIR/ising.html            the Ising playground (every top-level page of web/static)
    DIR/static/...            style.css and the ES modules (js/engine/ is the client-side engine)
    DIR/models/index.json     the manifest: {"format": "cnnlab-site", "server": false, "models": [...]}
    DIR/models/NAME.cnnlab    one web model file per network (:mod:`cnnlab.web.bundle`)
    DIR/models/translation.json  the shipped networks on shifted MNIST: the shift sweep's reference
                              curve (:func:`cnnlab.web.translation.reference`)
    DIR/models/ising/classifier.cnnlab  the Ising playground's phase classifier (:mod:`cnnlab.web.ising`)

Every path in the page is relative, so DIR works from any static server or a course's web space
(``python -m http.server -d DIR``; browsers do not run ES modules from ``file://``). ``cnnlab serve``
serves the same page and answers the same two ``models/`` URLs from its loaded networks
(:func:`add_routes`), with ``"server": true`` so that the page offers training, which needs Python.

Example:
    >>> import tempfile, json
    >>> out = Path(tempfile.mkdtemp())
    >>> report = build(out)
    >>> [m["name"] for m in report["models"]], (out / "index.html").is_file()
    (['mlp', 'cnn'], True)
    >>> json.loads((out / "models/index.json").read_text())["server"]
    False
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cnnlab.web import bundle, ising
from cnnlab.web.runs import from_model, load_run, load_runs, provenance
from cnnlab.web.translation import REFERENCE

if TYPE_CHECKING:  # the model module imports torch; this one is read by the docs build without it
    from cnnlab.model import Model

STATIC = Path(__file__).resolve().parent / "static"
REFERENCE_URL = "models/translation.json"
# What a site folder may already hold for build() to write into it again (never deletes anything).
MANIFEST = Path("models") / "index.json"


def model_files(
    models: Mapping, dtype: str = "auto", run_dirs: Mapping[str, Path] | None = None
) -> dict[str, tuple[str, bytes]]:
    """Name -> (file name, web model bytes) for loaded models (anything with ``net``, ``classes``, ``mean``, ``std``).

    Args:
        models: name -> model, in display order.
        dtype: how weights are stored (:func:`cnnlab.web.bundle.encode`).
        run_dirs: name -> run folder, for the provenance in ``results.json`` (default: the model's
            ``run_dir`` attribute when it has one).

    Example:
        >>> from cnnlab.web.models import default_models
        >>> files = model_files(default_models())
        >>> {name: file for name, (file, _) in files.items()}
        {'mlp': 'mlp.cnnlab', 'cnn': 'cnn.cnnlab'}
    """
    files: dict[str, tuple[str, bytes]] = {}
    taken: set[str] = set()
    for name, model in models.items():
        config = getattr(model, "config", {}) or {}
        run_dir = (run_dirs or {}).get(name, getattr(model, "run_dir", None))
        facts = provenance(config, run_dir)
        title = config.get("title", name)
        data = from_model(model, name, title=title, provenance=facts, dtype=dtype)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip(".-") or "model"
        file, k = f"{stem}{bundle.SUFFIX}", 2
        while file in taken:
            file, k = f"{stem}-{k}{bundle.SUFFIX}", k + 1
        taken.add(file)
        files[name] = (file, data)
    return files


def manifest(files: Mapping[str, tuple[str, bytes]], server: bool) -> dict:
    """The ``models/index.json`` the page reads first: the networks in display order, and whether a server is there."""
    return {
        "format": "cnnlab-site",
        "version": 1,
        "server": server,
        "models": [{"name": n, "file": f, "bytes": len(data)} for n, (f, data) in files.items()],
    }


def default_models() -> dict[str, tuple[Model, Path]]:
    """The two shipped MNIST networks, ``mlp`` and ``cnn``, with their display titles."""
    from cnnlab.web.models import DEFAULT_RUNS

    return {name: (load_run(path), path) for name, path in DEFAULT_RUNS.items()}


def contents(
    runs: Sequence[str | Path] | None = None, dtype: str = "auto", extra: Mapping[str, bytes] | None = None
) -> tuple[dict[str, bytes], list[dict]]:
    """Every file of the site as bytes, by relative path, and the models' summary (what :func:`build` writes).

    The MkDocs hook ``docs/gen_visualiser.py`` puts these into the documentation site as they are.

    Args:
        runs: run folders to show instead of the two shipped networks.
        dtype: how weights are stored (:func:`cnnlab.web.bundle.encode`).
        extra: more files by relative path, for pages with their own data (outside the drawing
            page's manifest, as the Ising playground's ``models/ising/classifier.cnnlab`` is).

    Example:
        >>> files, models = contents()
        >>> sorted(p for p in files if not p.startswith("static/")), [m["name"] for m in models]
        (['index.html', 'ising.html', 'models/cnn.cnnlab', 'models/index.json', 'models/ising/classifier.cnnlab', 'models/mlp.cnnlab', 'models/translation.json'], ['mlp', 'cnn'])
    """
    loaded = load_runs(runs) if runs else default_models()
    models = {name: model for name, (model, _) in loaded.items()}
    files = model_files(models, dtype, {name: run_dir for name, (_, run_dir) in loaded.items()})
    out: dict[str, bytes] = {}
    model_urls = [f"models/{file}" for file, _ in files.values()]
    for source in sorted(STATIC.rglob("*")):
        if source.is_dir() or source.name.startswith(".") or "__pycache__" in source.parts:
            continue
        rel = source.relative_to(STATIC)
        if rel.suffix == ".html" and len(rel.parts) == 1:
            out[rel.as_posix()] = with_preloads(source.read_text(), model_urls).encode()
        else:
            out[f"static/{rel.as_posix()}"] = source.read_bytes()
    for file, data in files.values():
        out[f"models/{file}"] = data
    out[MANIFEST.as_posix()] = (json.dumps(manifest(files, server=False), indent=1) + "\n").encode()
    out[REFERENCE_URL] = REFERENCE.read_bytes()
    out[ising.MODEL_URL] = ising.model_file()
    for name, data in (extra or {}).items():
        if name in out or name.startswith(("/", "..")) or ".." in Path(name).parts:
            raise ValueError(f"extra file {name!r} clashes with the site's own files or leaves the site folder")
        out[name] = bytes(data)
    summary = [
        {"name": name, "file": file, "bytes": len(data), "spec": models[name].net.spec_text}
        for name, (file, data) in files.items()
    ]
    return out, summary


def build(
    out: str | Path,
    runs: Sequence[str | Path] | None = None,
    dtype: str = "auto",
    extra: Mapping[str, bytes] | None = None,
) -> dict:
    """Write the static site to ``out`` (created if needed) and return what was written.

    Args:
        out: the site folder. It must be new, empty, or a site built before (files are overwritten,
            nothing is deleted).
        runs: run folders to show instead of the two shipped networks.
        dtype: how weights are stored (:func:`cnnlab.web.bundle.encode`).
        extra: more files by relative path (see :func:`contents`).

    Returns:
        ``{"out", "files", "bytes", "models": [{"name", "file", "bytes", "spec"}]}``.

    Raises:
        ValueError: ``out`` is a file, or a non-empty folder that is not a cnnlab site; a run the
            page cannot show.
    """
    from cnnlab.io import atomic_write_bytes

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not _is_site(out):
        raise ValueError(
            f"--out {str(out)!r} is not empty and not a cnnlab site (no {MANIFEST.as_posix()}); "
            "choose a new or empty folder"
        )
    files, models = contents(runs, dtype, extra)
    for rel, data in files.items():
        atomic_write_bytes(out / rel, data)
    return {"out": str(out), "files": len(files), "bytes": sum(map(len, files.values())), "models": models}


PRELOAD_MARKER = "<!-- cnnlab web build: preload links for the modules and the model files go here -->"
_IMPORT = re.compile(r"""^\s*(?:import|export)\s[^;]*?from\s+["'](\.{1,2}/[^"']+)["']""", re.M)
_ENTRY = re.compile(r'<script\s+type="module"\s+src="([^"]+)"')


def module_graph(entry: str) -> list[str]:
    """Every ES module a page loads, from its entry script (``static/js/main.js``), following relative imports.

    Example:
        >>> graph = module_graph("static/js/main.js")
        >>> graph[0], "static/js/engine/model.js" in graph
        ('static/js/main.js', True)
    """
    seen, todo = [], [entry]
    while todo:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.append(url)
        source = STATIC / Path(url).relative_to("static")
        for rel in _IMPORT.findall(source.read_text()):
            todo.append((Path(url).parent / rel).as_posix().replace("/./", "/"))
    return [_normalise(u) for u in seen]


def _normalise(url: str) -> str:
    parts: list[str] = []
    for part in url.split("/"):
        if part == "..":
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def with_preloads(html: str, model_urls: Sequence[str]) -> str:
    """The page with ``<link rel=preload>`` for its modules and, if it shows networks, the model files.

    Without them the browser discovers the modules level by level (page, then its imports, then theirs)
    and fetches the networks only after all of them ran; with them everything downloads at once.
    """
    if PRELOAD_MARKER not in html:
        return html
    entries = _ENTRY.findall(html)
    modules = [m for entry in entries for m in module_graph(entry)]
    links = [f'<link rel="modulepreload" href="{m}">' for m in dict.fromkeys(modules)]
    if any(m.endswith("/registry.js") for m in modules):  # the page loads the networks
        links.append('<link rel="preload" href="models/index.json" as="fetch" crossorigin="anonymous">')
        links += [f'<link rel="preload" href="{u}" as="fetch" crossorigin="anonymous">' for u in model_urls]
    return html.replace(PRELOAD_MARKER, "\n  ".join(links))


def _is_site(folder: Path) -> bool:
    try:
        return json.loads((folder / MANIFEST).read_text()).get("format") == "cnnlab-site"
    except (OSError, ValueError, AttributeError):
        return False


def add_routes(app, models: Mapping) -> None:
    """Serve the site's ``models/`` URLs and top-level pages from a FastAPI app (what ``cnnlab serve`` runs).

    ``GET /models/index.json`` is the manifest with ``"server": true``; ``GET /models/FILE`` a web
    model file built once, here, from the loaded networks; ``GET /models/ising/classifier.cnnlab``
    the Ising playground's network; ``GET /NAME.html`` a page of ``static/``.
    """
    from fastapi.responses import FileResponse, JSONResponse, Response
    from starlette.exceptions import HTTPException

    files = model_files(models)
    by_file = dict(files.values())
    ising_file = ising.model_file()
    index = manifest(files, server=True)
    pages = {p.name for p in STATIC.glob("*.html")}

    @app.get("/models/index.json")
    def site_manifest():
        return JSONResponse(index, headers={"Cache-Control": "no-cache"})

    @app.get(f"/{REFERENCE_URL}")
    def site_reference():
        return FileResponse(REFERENCE, media_type="application/json", headers={"Cache-Control": "no-cache"})

    @app.get(f"/{ising.MODEL_URL}")
    def site_ising_model():
        return Response(ising_file, media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/models/{file}")
    def site_model(file: str):
        if file not in by_file:
            raise HTTPException(404, f"no model file {file!r}; the manifest lists {', '.join(by_file)}")
        return Response(by_file[file], media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/{page}.html")
    def site_page(page: str):
        if f"{page}.html" not in pages:
            raise HTTPException(404, f"no page {page}.html")
        return FileResponse(STATIC / f"{page}.html", headers={"Cache-Control": "no-cache"})
