"""Entry point of the ``cnnlab`` console script.

Each command-group module exposes ``register(app)``; this file only assembles them and turns user
errors (``ValueError``/``TypeError``/``FileNotFoundError`` raised by the library) into a one-line message and
exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Protocol, cast

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


# typer >= 0.29 ships its own copy of click (``typer._click``), older versions use click itself, so
# ``click.ClickException`` does not catch typer's usage errors. Both are reached through typer's public
# names: ``typer.Abort``, and ``typer.BadParameter`` whose bases are click's usage-error classes.
_ClickException: type[Exception] = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")


class _Shown(Protocol):
    """What every click usage error offers: its message printed with the usage line, and an exit code."""

    exit_code: int

    def show(self) -> None: ...


_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def _interrupted() -> int:
    typer.echo("interrupted", err=True)
    return _INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code.

    Usage mistakes print the usage line and one reason (exit 2); user errors raised by the library
    (``ValueError``, missing files) print ``error: ...`` (exit 2); a diverged run prints one line (exit 1);
    Ctrl-C prints ``interrupted`` (exit 130). Never a traceback for any of these.
    """
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="cnnlab", standalone_mode=False)
    except SystemExit as exit_:  # a command that ends itself with an exit code
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        typer.echo(exit_.code, err=True)  # sys.exit("message"), as Python itself would print it
        return 1
    except KeyboardInterrupt:
        return _interrupted()
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
    except _ClickException as err:
        usage = cast(_Shown, err)
        usage.show()
        return usage.exit_code
    except typer.Abort as err:
        return _interrupted() if isinstance(err.__context__, KeyboardInterrupt) else 1
    # typer (>= 0.29) turns Ctrl-C inside a command into the return value 130 instead of raising.
    if result == _INTERRUPTED:
        return _interrupted()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
