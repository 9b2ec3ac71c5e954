"""Getting verified dataset files: local folders, the cache, and mirrors.

A file is only ever used after its checksum matched (see :class:`~cnnlab.data.sources.FileSpec`).
Downloads go to a temporary file in the destination folder, are verified, then moved into place
with :func:`cnnlab.io.atomic_write`, so the cache never holds a partial or corrupted file: a bad
download is deleted and the next mirror is tried.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import urllib.request
import zlib
from pathlib import Path

from cnnlab.io import atomic_write

from .sources import FileSpec

_CHUNK = 1 << 20
_USER_AGENT = "cnnlab (https://pypi.org/project/cnnlab)"


class ChecksumError(ValueError):
    """A file's content does not match any published checksum."""


class DownloadError(FileNotFoundError):
    """A file is in no local folder and no mirror delivered a verified copy."""


def default_cache_dir() -> Path:
    """The cache folder: ``$CNNLAB_DATA`` if set, else ``~/.cache/cnnlab``.

    Example:
        >>> import os
        >>> saved = os.environ.get("CNNLAB_DATA")
        >>> os.environ["CNNLAB_DATA"] = "/tmp/somewhere"
        >>> str(default_cache_dir())
        '/tmp/somewhere'
        >>> _ = os.environ.pop("CNNLAB_DATA") if saved is None else os.environ.update(CNNLAB_DATA=saved)
    """
    env = os.environ.get("CNNLAB_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "cnnlab"


def verify(blob: bytes, spec: FileSpec, source: str | os.PathLike = "") -> bytes:
    """Check ``blob`` against ``spec``'s checksums and return the content the loader wants.

    Args:
        blob: the file's bytes.
        spec: the expected checksums.
        source: where the bytes came from, for the error message.

    Returns:
        the gunzipped content when ``spec.gunzip``, else ``blob`` itself.

    Raises:
        ChecksumError: no checksum matches, or a ``.gz`` file does not decompress.

    Example:
        >>> import gzip, hashlib
        >>> content = b"hello"
        >>> spec = FileSpec("x.gz", content_md5=hashlib.md5(content).hexdigest())
        >>> verify(gzip.compress(content), spec)
        b'hello'
    """
    ok = hashlib.md5(blob).hexdigest() in spec.md5 or (
        bool(spec.sha256) and hashlib.sha256(blob).hexdigest() in spec.sha256
    )
    content = blob
    if spec.gunzip:
        try:
            content = gzip.decompress(blob)
        except (OSError, EOFError, zlib.error) as err:
            raise ChecksumError(f"{source or spec.filename}: not a valid gzip file ({err})") from err
        ok = ok or (spec.content_md5 is not None and hashlib.md5(content).hexdigest() == spec.content_md5)
    if not ok:
        expected = ", ".join(
            [f"md5 {m}" for m in spec.md5]
            + [f"sha256 {s}" for s in spec.sha256]
            + ([f"md5 of gunzipped content {spec.content_md5}"] if spec.content_md5 else [])
        )
        raise ChecksumError(
            f"{source or spec.filename}: checksum mismatch (got md5 "
            f"{hashlib.md5(blob).hexdigest()}; expected {expected}); "
            f"the file is corrupted or is not the official {spec.filename}"
        )
    return content


def read_verified(path: str | os.PathLike, spec: FileSpec) -> bytes:
    """Read a local file and :func:`verify` it; returns the content (gunzipped if ``spec.gunzip``)."""
    return verify(Path(path).read_bytes(), spec, source=path)


def fetch(
    spec: FileSpec, mirrors: tuple[str, ...] | list[str], folder: str | os.PathLike, timeout: float = 30.0
) -> bytes:
    """Download ``spec.filename`` from the first mirror that delivers a verified copy.

    The file is written atomically to ``folder/spec.filename``: downloaded to a temporary file in
    ``folder``, verified, fsync'ed, then renamed. A copy that fails verification is deleted and
    the next mirror is tried. A progress bar is shown on stderr when it is a terminal.

    Args:
        spec: the file and its checksums.
        mirrors: base URLs; the file's URL is ``mirror + spec.filename``.
        folder: destination folder (created if missing).
        timeout: seconds to wait for a mirror to answer.

    Returns:
        the verified content, as :func:`verify` returns it.

    Raises:
        DownloadError: every mirror failed; the message lists each mirror's error.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in mirrors:
        url = mirror + spec.filename
        try:
            return _fetch_one(url, spec, folder, timeout)
        except (OSError, http.client.HTTPException, ValueError) as err:
            # URLError, HTTPError and timeouts are OSErrors; ChecksumError is a ValueError.
            errors.append(f"{url}: {getattr(err, 'reason', None) or err}")
    raise DownloadError(f"could not download {spec.filename}: " + ("; ".join(errors) if errors else "no mirrors given"))


def _fetch_one(url: str, spec: FileSpec, folder: Path, timeout: float) -> bytes:
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    contents = []

    def download(tmp: str) -> None:
        # Verified before atomic_write renames it into place: a bad copy never reaches the cache.
        with open(tmp, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=spec.filename, disable=not sys.stderr.isatty(), leave=False
            ) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
        contents.append(read_verified(Path(tmp), spec))

    atomic_write(folder / spec.filename, download)
    return contents[0]


def obtain(
    spec: FileSpec, mirrors, cache_folder: str | os.PathLike, download: bool = True, timeout: float = 30.0
) -> bytes:
    """A verified file from the cache, downloading it when missing or corrupted.

    Args:
        spec: the file and its checksums.
        mirrors: base URLs for :func:`fetch`.
        cache_folder: the dataset's cache folder, e.g. ``~/.cache/cnnlab/mnist``.
        download: if False, a missing file raises instead of touching the network.
        timeout: seconds to wait for a mirror.

    Returns:
        the verified content (see :func:`verify`).

    Raises:
        DownloadError: the file is not cached (or is corrupted) and could not be downloaded.
    """
    path = Path(cache_folder) / spec.filename
    if path.is_file():
        try:
            return read_verified(path, spec)
        except ChecksumError:
            path.unlink()  # a corrupted cache entry is useless; fetch a fresh copy below
            if not download:
                raise
    if not download:
        raise DownloadError(f"{spec.filename} is not in the cache folder {cache_folder} and download=False")
    return fetch(spec, mirrors, cache_folder, timeout=timeout)
