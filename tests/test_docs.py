"""The documentation site: built with ``mkdocs build --strict`` (warnings are errors), every internal
link and anchor of the built site resolves, and the CLI reference is generated from the CLI itself.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _gen_cli():
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_lists_every_command_and_option():
    import typer

    gen = _gen_cli()
    text = gen.cli_markdown()
    for name, command in gen.commands().items():
        assert f"{{ #cnnlab-{name} }}" in text, name
        ctx = typer.Context(command, info_name=name)
        for param in command.get_params(ctx):
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in text, f"cnnlab {name}: option {opt} missing from the reference"
        for sub in getattr(command, "list_commands", lambda ctx: [])(ctx):
            assert f"{{ #cnnlab-{name}-{sub} }}" in text, f"{name} {sub}"
    # Real content, not just headings: the lecture's defaults and a usage line with arguments.
    assert "[default: 1,2,2,-1,3]" in text
    assert "cnnlab predict [OPTIONS] RUN_DIR IMAGES..." in text


def test_cli_reference_cells_escape_pipes():
    gen = _gen_cli()
    assert gen._cell("sgd | adam\n  or  rmsprop") == "sgd \\| adam or rmsprop"


class _Links(HTMLParser):
    """Collects href/src values and element ids of one HTML page."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _target(page: Path, url: str, site: Path) -> Path:
    # Absolute paths (only the 404 page uses them, without a site_url) start at the site's root.
    path = (site / unquote(url).lstrip("/") if url.startswith("/") else page.parent / unquote(url)).resolve()
    if path.is_dir():
        path = path / "index.html"
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    for module in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python", "material"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            pytest.skip(f"{module} is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = dict(
        os.environ,
        NO_MKDOCS_2_WARNING="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return out


@pytest.mark.slow
def test_site_builds_strict_with_every_page(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("index.html")}
    for page in [
        "index.html",
        "cli/index.html",
        "notebooks/index.html",
        "benchmarks/index.html",
        "guides/lecture/index.html",
        "guides/ising/index.html",
        "api/shapes/index.html",
        "api/reference/index.html",
        "api/physics/index.html",
        "visualiser/index.html",  # the live static visualiser (docs/gen_visualiser.py)
    ]:
        assert page in pages, page
    # The Ising playground is the static site's second page, with its network.
    assert (site / "visualiser/ising.html").is_file() and (site / "visualiser/models/ising/classifier.cnnlab").is_file()
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert 'id="cnnlab-ising-tc"' in cli and "--recipe" in cli
    # The API reference is rendered from the docstrings: the doctest of conv_output_size is there.
    shapes = (site / "api" / "shapes" / "index.html").read_text(encoding="utf-8")
    assert "conv_output_size" in shapes and "is not an integer" in shapes
    # Example sections are code blocks, not Markdown (where x[0]["F"] would read as a link).
    summary = (site / "api" / "summary" / "index.html").read_text(encoding="utf-8")
    assert '<span class="gp">&gt;&gt;&gt; </span>' in summary  # a highlighted doctest prompt
    assert 's.rows[0]["F"]' in html.unescape(re.sub(r"<[^>]+>", "", summary))  # not eaten as a link


@pytest.mark.slow
def test_every_internal_link_and_anchor_resolves(site):
    parsed = {page: _parse(page) for page in site.rglob("*.html")}
    broken = []
    for page, links in parsed.items():
        for url in links.links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:", "data:")):
                continue  # external: not checked here (no network in CI)
            target = _target(page, parts.path, site) if parts.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {url} (no file {target})")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {url} (no anchor #{parts.fragment})")
    assert not broken, "\n".join(broken[:30])
    # The check itself sees links: the home page links to every guide.
    home = {urlsplit(u).path for u in parsed[site / "index.html"].links}
    assert {"guides/lecture/", "guides/ising/", "cli/", "api/"} <= home


def test_docs_pages_are_all_in_the_nav():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(nav):
        for item in nav:
            for value in item.values():
                yield from (pages(value) if isinstance(value, list) else [value])

    in_nav = set(pages(config["nav"]))
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk | {"cli.md"} == in_nav, (on_disk ^ in_nav) - {"cli.md"}
    assert not (ROOT / "docs" / "cli.md").exists(), "cli.md is generated at build time; do not commit it"
