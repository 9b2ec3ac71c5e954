"""The visualiser as a live page of the documentation site, built from the package (never committed).

An MkDocs hook (``hooks: [docs/gen_visualiser.py]`` in ``mkdocs.yml``): ``on_files`` adds every file of
``cnnlab web build`` (the page, its ES modules, the two default networks' weights) under
``visualiser/``, so the guide can link to ``visualiser/index.html`` and the published docs run the
networks in the reader's browser. The same files as ``cnnlab web build --out site/visualiser``.
"""

from __future__ import annotations

PREFIX = "visualiser/"


def on_files(files, config):
    """MkDocs hook: add the static visualiser site under ``visualiser/``."""
    from mkdocs.structure.files import File

    from cnnlab.web.site import contents

    site_files, _ = contents()
    for rel, data in site_files.items():
        existing = files.get_file_from_path(PREFIX + rel)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, PREFIX + rel, content=data))
    return files
