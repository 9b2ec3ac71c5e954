"""The CLI reference page, generated from the ``cnnlab`` command itself (never written by hand).

Walks the typer app's command tree and writes, per command, its help text, usage line and a table
of its arguments and options (from each parameter's own help record, defaults included). Used two
ways:

* as an MkDocs hook (``hooks: [docs/gen_cli.py]`` in ``mkdocs.yml``): ``on_files`` adds the page
  ``cli.md`` to the site at build time, so the reference cannot drift from the code;
* as a script: ``python docs/gen_cli.py`` prints the Markdown.
"""

from __future__ import annotations

import re
import sys

TITLE = "CLI reference"
INTRO = (
    "Generated from the `cnnlab` command itself when the documentation is built: every command, its "
    "arguments and options with their defaults. The same text, formatted for a terminal, is "
    "`cnnlab COMMAND --help`. Every command that produces results accepts `--json` and prints one "
    "JSON object as its last line. User mistakes print `error: ...` and exit with status 2."
)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _usage(command, ctx, path: str) -> str:
    pieces = [
        re.sub(
            r"[{[](\w+)[}\]]",
            lambda m: m.group(0)[0].replace("{", "") + m.group(1).upper() + m.group(0)[-1].replace("}", ""),
            p,
        )
        for p in command.collect_usage_pieces(ctx)
    ]
    return " ".join([path, *pieces])


def _params_table(command, ctx) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None or param.name == "help":
            continue
        names, help_text = record
        kind = "argument" if type(param).__name__.endswith("Argument") else "option"
        rows.append(f"| `{_cell(names)}` | {kind} | {_cell(help_text)} |")
    if not rows:
        return []
    return ["| name | kind | description |", "|---|---|---|", *rows, ""]


def _command_section(command, ctx, path: str, level: int) -> list[str]:
    anchor = path.replace(" ", "-")
    out = [f"{'#' * level} `{path}` {{ #{anchor} }}", ""]
    if command.help:
        out += [command.help.strip(), ""]
    out += ["```text", _usage(command, ctx, path), "```", ""]
    out += _params_table(command, ctx)
    if hasattr(command, "list_commands"):
        subs = command.list_commands(ctx)
        out += ["Subcommands: " + ", ".join(f"[`{s}`](#{anchor}-{s})" for s in subs) + ".", ""]
        for sub in subs:
            sub_command = command.get_command(ctx, sub)
            sub_ctx = type(ctx)(sub_command, info_name=sub, parent=ctx)
            out += _command_section(sub_command, sub_ctx, f"{path} {sub}", level + 1)
    return out


def commands() -> dict[str, object]:
    """Top-level command name -> command object, in ``cnnlab --help`` order."""
    import typer

    from cnnlab.cli.main import app

    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="cnnlab")
    return {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}


def cli_markdown() -> str:
    """The whole reference page as Markdown."""
    import typer

    from cnnlab.cli.main import app

    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="cnnlab")
    names = group.list_commands(ctx)
    out = [
        f"# {TITLE}",
        "",
        INTRO,
        "",
        "```text",
        _usage(group, ctx, "cnnlab"),
        "```",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for name in names:
        command = group.get_command(ctx, name)
        first = (command.help or "").strip().split("\n")[0]
        out.append(f"| [`{name}`](#cnnlab-{name}) | {_cell(first)} |")
    out.append("")
    for name in names:
        command = group.get_command(ctx, name)
        out += _command_section(command, typer.Context(command, info_name=name, parent=ctx), f"cnnlab {name}", 2)
    return "\n".join(out).rstrip() + "\n"


def on_files(files, config):
    """MkDocs hook: add the generated ``cli.md`` to the site."""
    from mkdocs.structure.files import File

    existing = files.get_file_from_path("cli.md")
    if existing is not None:  # a stale hand-written copy must not win over the generated page
        files.remove(existing)
    files.append(File.generated(config, "cli.md", content=cli_markdown()))
    return files


if __name__ == "__main__":
    sys.stdout.write(cli_markdown())
