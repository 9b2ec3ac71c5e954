"""Griffe extension for the API reference: cnnlab's ``Example:`` sections are doctests.

cnnlab's docstrings follow PyTorch and Keras and title their doctest section ``Example:``; the
Google-style parser only knows ``Examples:`` and would render the singular as an admonition of
Markdown, where ``x[0]["F"]`` reads as a link. Renaming the title before parsing makes every
``>>>`` block a code block, as intended. Loaded by ``mkdocs.yml`` (mkdocstrings' ``extensions``).
"""

from __future__ import annotations

import re

import griffe

_TITLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rewrite ``Example:`` section titles to ``Examples:`` in every docstring."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _TITLE.sub(r"\1Examples:", obj.docstring.value)
