"""ASGI guards in front of every route: which Host and Origin may talk to the server, and how many
body bytes a request may send.

Why they are pure ASGI rather than route dependencies:

* **DNS rebinding.** A web page on ``evil.example`` can point its own name at 127.0.0.1 and then
  talk to a loopback Scout as "same origin". Browsers still send ``Host: evil.example``, so a
  loopback server answers only requests whose Host is a loopback name (or one allowed with
  ``--allow-host``). A server beyond loopback requires its token for writes instead.
* **Cross-site requests.** A page elsewhere can make the browser POST a form or an upload here
  (no CORS preflight for those). Requests to ``/api`` that a browser marks as cross-site
  (``Sec-Fetch-Site``) or that carry an ``Origin`` other than the server's own are refused before
  any work is done. Tools that send neither header (curl, scripts) are unaffected.
* **Body size.** ``Content-Length`` may be absent (chunked uploads), so bytes are counted as they
  arrive and the request is cut off at the limit, before it is spooled to disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _host_name(value: str) -> str:
    """``example.com:8000`` / ``[::1]:8000`` -> the name without port or brackets, lower-case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


@dataclass(frozen=True)
class HostPolicy:
    """Which Host names the server answers; ``None`` means any (a token guards the server)."""

    allowed: frozenset[str] | None

    @classmethod
    def for_server(cls, bind_host: str, extra: tuple[str, ...], token_required: bool) -> "HostPolicy":
        if extra:
            return cls(LOOPBACK_NAMES | {_host_name(h) for h in extra} | {_host_name(bind_host)})
        if _host_name(bind_host) in LOOPBACK_NAMES or not token_required:
            return cls(LOOPBACK_NAMES | {_host_name(bind_host)})
        return cls(None)

    def allows(self, host_header: str) -> bool:
        return self.allowed is None or _host_name(host_header) in self.allowed


def _json(status: int, error: str, hint: str, extra_headers: list | None = None) -> tuple[dict, dict]:
    body = json.dumps({"error": error, "hint": hint}).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close"), *(extra_headers or [])]}
    return start, {"type": "http.response.body", "body": body}


class _BodyTooLarge(Exception):
    pass


class RequestGuard:
    """Host allow-list, cross-site refusal for the API, and a streaming body limit."""

    def __init__(self, app, *, hosts: HostPolicy, max_body_bytes: int):
        self.app = app
        self.hosts = hosts
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            for message in _json(*refusal):
                await send(message)
            return
        received = 0
        exceeded = False
        response_started = False

        async def counted_receive():
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message):
            nonlocal response_started
            if exceeded and not response_started:
                return  # the app's own answer to the cut-off body is replaced by the 413 below
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            for message in _json(*self._too_large()):
                await send(message)

    def _too_large(self) -> tuple[int, str, str]:
        return (413, f"Request body is larger than {self.max_body_bytes >> 20} MB.",
                "Send a smaller JPEG or PNG.")

    def _refusal(self, scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        host = headers.get("host", "")
        if not self.hosts.allows(host):
            return (400, f"This Scout server does not answer for the host name {_host_name(host)!r}.",
                    "Open it as http://127.0.0.1:PORT/, or start it with --allow-host NAME to serve "
                    "that name (needed behind a proxy).")
        if scope["path"].startswith("/api"):
            origin = headers.get("origin")
            if headers.get("sec-fetch-site") == "cross-site" or (
                origin and origin != "null" and urlsplit(origin).netloc.lower() != host.lower()
            ):
                return (403, "Cross-site requests to the Scout API are refused.",
                        "Use the Scout web UI served by this server, or call the API from a script.")
            if origin == "null":
                return (403, "Requests from opaque origins (sandboxed pages, file://) are refused.",
                        "Use the Scout web UI served by this server.")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._too_large()
        return None
