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


def allowed_hosts(host: str, port: int | None) -> set[str]:
    """Host header values accepted for a server bound to ``host:port`` (with and without the port).

    Example:
        >>> sorted(allowed_hosts("127.0.0.1", 8000))
        ['127.0.0.1:8000', 'localhost:8000']
    """
    names = {host if ":" not in host else f"[{host.strip('[]')}]"}
    if host in ("127.0.0.1", "localhost"):
        names |= {"127.0.0.1", "localhost"}
    if host.strip("[]") == "::1":
        names |= {"[::1]", "localhost"}
    if port is None:
        return names
    # Browsers omit the port only for 80; keep the bare name valid there.
    return {f"{n}:{port}" for n in names} | (names if port == 80 else set())


class LocalOnly:
    """ASGI middleware: 400 for a foreign Host, 403 for a foreign Origin, 413 for a large body."""

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = 8000, max_body: int = 1_000_000):
        self.app = app
        self.hosts = allowed_hosts(host, port)
        self.origins = {f"http://{h}" for h in self.hosts}
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if host.lower() not in self.hosts:
            return await _reply(send, 400, f"Host header {host!r} refused: this server only answers "
                                           f"{' or '.join(sorted(self.hosts))} (DNS-rebinding protection)")
        origin = headers.get("origin")
        if origin is not None and scope.get("method", "GET") not in ("GET", "HEAD") and origin.lower() not in self.origins:
            return await _reply(send, 403, f"Origin {origin!r} refused: requests must come from this server's own page")
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return await _reply(send, 400, f"Content-Length must be a number of bytes, got {length!r}")
            if int(length) > self.max_body:
                return await _reply(send, 413, f"request body of {int(length)} bytes is over the limit of {self.max_body} bytes")
        return await self.app(scope, receive, send)


async def _reply(send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
