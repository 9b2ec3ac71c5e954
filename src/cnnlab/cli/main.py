"""Entry point of the ``cnnlab`` console script.

Each command-group module exposes ``register(app)``; this file only assembles them and turns user
errors (``ValueError``/``TypeError``/``FileNotFoundError`` raised by the library) into a one-line message and
exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

try:
    import cnnlab.physics.dataset  # noqa: F401  (registers the ising:PATH dataset with cnnlab.data)
except ModuleNotFoundError as _err:  # a partial install without physics still gives a working CLI
    if not (_err.name or "").startswith("cnnlab.physics"):
        raise

app = typer.Typer(
    name="cnnlab",
    help="A laboratory for convolutional neural networks: glass-box layers, fast training, lecture experiments, Ising physics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command groups in the order they appear in --help; a module that is missing is skipped so that a
# partial install still gives a working CLI.
_GROUPS = ["model", "train", "ising", "experiments", "web", "export"]
for _name in _GROUPS:
    try:
        _module = importlib.import_module(f"cnnlab.cli.{_name}")
    except ModuleNotFoundError as err:
        if err.name != f"cnnlab.cli.{_name}":
            raise
        continue
    _module.register(app)


class UserError(Exception):
    """Raised by CLI modules for a bad argument; printed without a traceback."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print ``error: ...`` to stderr and return 2."""
    try:
        app(args=argv, standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except (ValueError, FileNotFoundError, NotADirectoryError, UserError) as err:
        typer.echo(f"error: {err}", err=True)
        return 2
    except RuntimeError as err:
        # A diverged run (NaN/inf loss) is an outcome to report, not a crash to debug.
        from cnnlab.train.callbacks import NonFiniteLossError

        if not isinstance(err, NonFiniteLossError):
            raise
        typer.echo(f"error: {err}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as err:  # click's own usage errors
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            return err.exit_code
        if isinstance(err, click.exceptions.Abort):
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
