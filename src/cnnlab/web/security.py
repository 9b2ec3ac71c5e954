"""ASGI guard for a server meant for one person's browser: loopback Host only, capped bodies.

DNS rebinding: a page on ``evil.example`` whose name is re-pointed at 127.0.0.1 can make the
browser send requests to this server, but they carry ``Host: evil.example``; refusing any Host that
is not the bound loopback address closes that door. Cross-site form posts carry a foreign
``Origin`` and are refused as well. Bodies larger than ``max_body`` bytes get 413 before they are read.
"""

from __future__ import annotations

import json

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    """True for 127.x.y.z, ``localhost`` and ``::1`` (the only addresses ``cnnlab serve`` binds).

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback("192.168.1.2")
        (True, True, False, False)
    """
    if host in ("localhost", "::1", "[::1]"):
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() and int(p) < 256 for p in parts)


def allowed_names(host: str) -> set[str]:
    """Host names (without port) accepted for a server bound to ``host``.

    Example:
        >>> sorted(allowed_names("127.0.0.1")), sorted(allowed_names("::1"))
        (['127.0.0.1', 'localhost'], ['[::1]', 'localhost'])
    """
    bare = host.strip("[]")
    names = {f"[{bare}]" if ":" in bare else bare}
    if bare in ("127.0.0.1", "localhost"):
        names |= {"127.0.0.1", "localhost"}
    if bare == "::1":
        names |= {"[::1]", "localhost"}
    return names


def split_host(header: str) -> tuple[str, int | None]:
    """``"127.0.0.1:8000"`` -> ``("127.0.0.1", 8000)``; ``"[::1]"`` -> ``("[::1]", None)``.

    Example:
        >>> split_host("[::1]:8000"), split_host("localhost"), split_host("a:b")
        (('[::1]', 8000), ('localhost', None), ('a:b', None))
    """
    name, sep, port = header.rpartition(":")
    if sep and port.isdigit() and (not name.startswith("[") or name.endswith("]")):
        return name.lower(), int(port)
    return header.lower(), None


class LocalOnly:
    """ASGI middleware: 400 for a foreign Host, 403 for a foreign Origin, 413 for a large body."""

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = 8000, max_body: int = 1_000_000):
        """``port=None`` accepts any port (for servers on a port chosen after the app is built)."""
        self.app = app
        self.names, self.port = allowed_names(host), port
        self.max_body = max_body

    def _local(self, value: str) -> bool:
        name, port = split_host(value)
        # Browsers omit the port only when it is 80.
        return name in self.names and (self.port is None or (port or 80) == self.port)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not self._local(host):
            where = " or ".join(sorted(self.names)) + (f" on port {self.port}" if self.port is not None else "")
            return await _reply(
                send, 400, f"Host header {host!r} refused: this server only answers {where} (DNS-rebinding protection)"
            )
        origin = headers.get("origin")
        if (
            origin is not None
            and scope.get("method", "GET") not in ("GET", "HEAD")
            and not (origin.lower().startswith("http://") and self._local(origin[len("http://") :]))
        ):
            return await _reply(send, 403, f"Origin {origin!r} refused: requests must come from this server's own page")
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return await _reply(send, 400, f"Content-Length must be a number of bytes, got {length!r}")
            if int(length) > self.max_body:
                return await _reply(
                    send, 413, f"request body of {int(length)} bytes is over the limit of {self.max_body} bytes"
                )
        return await self.app(scope, receive, send)


async def _reply(send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
