"""Entry point of the ``cnnlab`` console script.

Each command-group module exposes ``register(app)``; this file only assembles them and turns user
errors (``ValueError``/``TypeError``/``FileNotFoundError`` raised by the library) into a one-line message and
exit code 2, OS failures (a full disk, a path that cannot be written) into one line and exit code 1,
Ctrl-C and SIGTERM into ``interrupted`` and exit code 130; never a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

# Importing the command groups imports typer, numpy and torch (about a second). A Ctrl-C or SIGTERM in
# that second is noted and honoured once the imports are done: an import cut in half leaves a broken
# module behind, and the next import fails with a traceback that is not the user's.
_PENDING: list[int] = []
_DEFERRED: dict[signal.Signals, object] = {}
if threading.current_thread() is threading.main_thread():
    for _signum in (signal.SIGINT, signal.SIGTERM):
        _DEFERRED[_signum] = signal.signal(_signum, lambda signum, frame: _PENDING.append(signum))

import importlib  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

import typer  # noqa: E402

from cnnlab.io import WriteError  # noqa: E402
from cnnlab.train.launcher import LAUNCHER_ENV  # noqa: E402

app = typer.Typer(
    name="cnnlab",
    help="A laboratory for convolutional neural networks: glass-box layers, fast training, lecture experiments, Ising physics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

try:
    import cnnlab.physics.dataset  # noqa: F401  (registers the ising:PATH dataset with cnnlab.data)
except ModuleNotFoundError as _err:  # a partial install without physics still gives a working CLI
    if not (_err.name or "").startswith("cnnlab.physics"):
        raise
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
for _deferred, _handler in _DEFERRED.items():
    signal.signal(_deferred, _handler)  # type: ignore[arg-type]
if _PENDING:
    if LAUNCHER_ENV not in os.environ:
        print("interrupted", file=sys.stderr)
    sys.exit(130)


class UserError(Exception):
    """Raised by CLI modules for a bad argument; printed without a traceback."""


# typer >= 0.29 ships its own copy of click (``typer._click``), older versions use click itself, so
# ``click.ClickException`` does not catch typer's usage errors. Both are reached through typer's public
# names: ``typer.Abort``, and ``typer.BadParameter`` whose bases are click's usage-error classes.
_ClickException: Any = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")
_UsageError: Any = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")
_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def _interrupted() -> int:
    if LAUNCHER_ENV not in os.environ:  # under cnnlab's launcher, the launcher reports the interruption
        _say("interrupted")
    return _INTERRUPTED


def _speaks() -> bool:
    """Whether this process prints its errors: rank 0 of a torchrun job (so a mistake is printed once), or a
    process of ``cnnlab train --nproc``, whose launcher keeps the other ranks' stderr for when they fail first."""
    return os.environ.get("RANK", "0") in ("", "0") or LAUNCHER_ENV in os.environ


def _say(line: str) -> None:
    if _speaks():
        typer.echo(line, err=True)


def _os_error(err: OSError) -> int:
    """A runtime failure of the OS (disk full, no permission, ...): one line naming the path, exit 1.

    Library errors that only carry a message (a missing run folder, a missing image) are user
    mistakes like a bad value: exit 2.
    """
    if err.errno is None:
        _say(f"error: {err}")
        return 2
    if isinstance(err, WriteError) or not err.filename:
        _say(f"error: {err}" if isinstance(err, WriteError) else f"error: {err.strerror or err}")
    else:
        _say(f"error: {err.filename}: {err.strerror}")
    return 1


@contextmanager
def _sigterm_interrupts():
    """SIGTERM (``kill``, a scheduler ending a job) stops a command as Ctrl-C does: files stay consistent, exit 130."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding program): leave signals to it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code.

    Usage mistakes print the usage line and one reason (exit 2); user errors raised by the library
    (``ValueError``, ``TypeError``, missing files) print ``error: ...`` (exit 2); a runtime failure (a
    file that cannot be written, a full disk, no memory) and a diverged run print one line (exit 1);
    Ctrl-C and SIGTERM print ``interrupted`` (exit 130). Never a traceback for any of these. In a
    multi-process job (``RANK`` set) only rank 0 prints.
    """
    command = typer.main.get_command(app)
    with _sigterm_interrupts():
        try:
            result = command.main(args=argv, prog_name="cnnlab", standalone_mode=False)
        except SystemExit as exit_:  # a command that ends itself with an exit code
            if exit_.code is None or isinstance(exit_.code, int):
                return exit_.code or 0
            _say(str(exit_.code))  # sys.exit("message"), as Python itself would print it
            return 1
        except KeyboardInterrupt:
            return _interrupted()
        except (ValueError, TypeError, UserError) as err:
            _say(f"error: {err}")
            return 2
        except OSError as err:
            return _os_error(err)
        except RecursionError:
            _say("error: the input is nested too deeply to read")
            return 2
        except MemoryError:
            _say(
                "error: out of memory: a size given is too large for this machine (see the command's --help for its bounds)"
            )
            return 1
        except RuntimeError as err:
            # A diverged run (NaN/inf loss) is an outcome to report, not a crash to debug.
            from cnnlab.train.callbacks import NonFiniteLossError

            if not isinstance(err, NonFiniteLossError):
                raise
            _say(f"error: {err}")
            return 1
        except _ClickException as err:
            if _speaks():
                if isinstance(err, _UsageError) and err.ctx is None:  # click knows no command here: say where to look
                    typer.echo("Usage: cnnlab [OPTIONS] COMMAND [ARGS]...\nTry 'cnnlab --help' for help.\n", err=True)
                err.show()
            return err.exit_code
        except typer.Abort as err:
            return _interrupted() if isinstance(err.__context__, KeyboardInterrupt) else 1
    # typer (>= 0.29) turns Ctrl-C inside a command into the return value 130 instead of raising.
    if result == _INTERRUPTED:
        return _interrupted()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
