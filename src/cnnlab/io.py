"""Writing files atomically: a reader (or a crash) never sees half a file.

Every file cnnlab writes into a run folder or a cache goes through :func:`atomic_write`: the content
is written to a temporary file in the same folder, flushed to disk, then renamed over the target
(``os.replace`` is atomic on POSIX and Windows), and the folder entry is flushed too.

A process killed in the middle of a write (``kill -9``, a power cut) leaves its temporary file
behind (``.NAME.PID.XXXX.tmp``): the next write into that folder removes the ones whose process is
gone. A write that fails for an OS reason (a full disk, no permission, a file where a folder should
be) raises :class:`WriteError` naming the target and the reason, and leaves the target as it was.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "runs" / "result.json"
    >>> atomic_write_text(path, '{"accuracy": 0.99}\\n')
    >>> path.read_text()
    '{"accuracy": 0.99}\\n'
    >>> atomic_write_text(Path(path, "inside-a-file.txt"), "no")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cnnlab.io.WriteError: cannot write .../runs/result.json/inside-a-file.txt: .../runs/result.json is a file, not a folder
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "TEMPORARY_NAME",
    "WriteError",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "remove_stale_temporaries",
]


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; put it back at once
    os.umask(mask)
    return mask


#: The mode ``open(path, "w")`` would give a new file; mkstemp makes its files 0600, which would leave a
#: run folder or a static site unreadable to the group or a web server.
FILE_MODE = 0o666 & ~_umask()

#: The name of a temporary file of :func:`atomic_write`.
TEMPORARY_NAME = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")  # .NAME.PID.RANDOM.tmp, as atomic_write names them


class WriteError(OSError):
    """Writing ``filename`` failed for an OS reason (``strerror``: disk full, permission denied, ...)."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def atomic_write(path: str | Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)``, fsync, then rename over ``path``: readers never see half a file.

    Args:
        path: the file to (re)place; missing parent folders are created.
        write: writes the whole content to the temporary path it is given. If it raises, the
            temporary file is removed and ``path`` is left as it was.

    Raises:
        WriteError: the folder cannot be made or the file cannot be written (naming ``path`` and the reason).
    """
    path = Path(path)
    try:
        _make_folder(path.parent)
        remove_stale_temporaries(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as err:
        raise _naming(err, path) from None
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _naming(err, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def make_folder(folder: str | Path) -> Path:
    """``mkdir -p``, or :class:`WriteError` naming the folder and the reason (e.g. a file in the way).

    Example:
        >>> import tempfile
        >>> make_folder(Path(tempfile.mkdtemp()) / "a" / "b").is_dir()
        True
    """
    folder = Path(folder)
    try:
        _make_folder(folder)
    except OSError as err:
        raise _naming(err, folder) from None
    return folder


def check_folder(folder: str | Path) -> Path:
    """What :func:`make_folder` would refuse, found without creating anything.

    For commands that work for minutes before they write: a file in the way or a parent folder that
    cannot be written into is reported at once, and a mistake found later leaves no empty folder.

    Example:
        >>> import tempfile
        >>> blocker = Path(tempfile.mkdtemp()) / "a-file"
        >>> _ = blocker.write_text("x")
        >>> check_folder(blocker / "run")   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        cnnlab.io.WriteError: cannot write .../a-file/run: .../a-file is a file, not a folder
    """
    folder = Path(folder)
    existing = _nearest_existing(folder)
    if existing is None:
        return folder
    if not existing.is_dir():
        raise _naming(_file_in_the_way(existing), folder)
    if existing != folder and not os.access(existing, os.W_OK | os.X_OK):
        raise _naming(PermissionError(errno.EACCES, f"{existing} is not writable"), folder)
    return folder


def _nearest_existing(folder: Path) -> Path | None:
    """``folder`` or its nearest ancestor that exists (above a folder there are only folders)."""
    return next((p for p in (folder, *folder.parents) if p.exists()), None)


def _file_in_the_way(blocker: Path) -> OSError:
    return NotADirectoryError(errno.ENOTDIR, f"{blocker} is a file, not a folder")


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # mkdir's words for "a file is in the way": say which
        raise _file_in_the_way(_nearest_existing(folder) or folder) from None


def _naming(err: OSError, path: Path) -> OSError:
    """The OS error as a :class:`WriteError` about ``path`` (errors without an errno pass unchanged)."""
    if err.errno is None:
        return err
    return WriteError(err.errno, err.strerror or str(err), str(path))


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files that killed writes left in ``folder`` (their process is gone); returns them.

    Only files named as :func:`atomic_write` names them are touched, and only when the process that
    made them no longer runs on this machine, so a write in progress elsewhere is never disturbed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = TEMPORARY_NAME.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False) or _running(int(match.group(1))):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:  # another process removed it first, or no permission: not this write's business
            pass
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill(pid, 0) would send Ctrl-C: never ask there
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but is someone else's (or cannot be asked): leave its file alone
    return True


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; not every platform can open or fsync a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str, encoding: str | None = None) -> None:
    """:func:`atomic_write` of a string (``encoding`` as in :meth:`pathlib.Path.write_text`)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding=encoding))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """:func:`atomic_write` of bytes (e.g. ``safetensors.torch.save(...)``: written by Python, so that a full
    disk is an ``OSError`` like any other write)."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
