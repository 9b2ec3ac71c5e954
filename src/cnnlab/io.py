"""Writing files atomically: a reader (or a crash) never sees half a file.

Every file cnnlab writes into a run folder or a cache goes through :func:`atomic_write`: the content
is written to a temporary file in the same folder, flushed to disk, then renamed over the target
(``os.replace`` is atomic on POSIX and Windows), and the folder entry is flushed too.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "runs" / "result.json"
    >>> atomic_write_text(path, '{"accuracy": 0.99}\\n')
    >>> path.read_text()
    '{"accuracy": 0.99}\\n'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_text"]


def atomic_write(path: str | Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)``, fsync, then rename over ``path``: readers never see half a file.

    Args:
        path: the file to (re)place; missing parent folders are created.
        write: writes the whole content to the temporary path it is given. If it raises, the
            temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


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
