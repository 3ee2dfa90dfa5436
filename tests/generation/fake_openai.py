"""A real loopback HTTP server speaking the OpenAI wire format, for tests of everything that talks
to an OpenAI-compatible endpoint (VLM aligner, copy writers, image generators).

It is not a mock: the client under test opens a TCP connection, sends real HTTP, and reads the
exact JSON shapes the real API returns. Tests queue :class:`Reply` objects to script failures
(429 with Retry-After, 500s, garbage, slow answers); when the queue is empty the default handlers
answer like a healthy server.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from PIL import Image


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any


@dataclass
class Reply:
    """One scripted answer. Build with the static constructors."""

    code: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chat_content: str | None = None  # filled into a chat.completion for the request's model

    @staticmethod
    def chat(content: str) -> "Reply":
        """A well-formed ``chat.completion`` whose assistant message is ``content``."""
        return Reply(chat_content=content)

    @staticmethod
    def images(*images: bytes) -> "Reply":
        """A well-formed images answer carrying these bytes as ``b64_json``."""
        return Reply.json(_images_body(list(images)))

    @staticmethod
    def json(obj: Any, status: int = 200) -> "Reply":
        return Reply(code=status, body=json.dumps(obj).encode(), headers={"Content-Type": "application/json"})

    @staticmethod
    def status(code: int, body: dict | str = "", headers: dict | None = None) -> "Reply":
        """An HTTP status, by default with OpenAI's error body (``{"error": {"message", ...}}``)."""
        if body == "" and code >= 400:
            body = {"error": {"message": f"scripted error {code}", "type": "server_error", "code": code}}
        data = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
        content_type = "application/json" if isinstance(body, dict) else "text/plain"
        return Reply(code=code, body=data, headers={"Content-Type": content_type, **(headers or {})})

    @staticmethod
    def raw(body: bytes | str, content_type: str = "application/json") -> "Reply":
        """Exactly these bytes with status 200: garbage, truncated JSON, wrong shapes."""
        data = body.encode() if isinstance(body, str) else body
        return Reply(body=data, headers={"Content-Type": content_type})

    @staticmethod
    def delay(seconds: float, then: "Reply") -> "Reply":
        """``then``, answered only after ``seconds`` (for client timeouts)."""
        return Reply(then.code, then.body, dict(then.headers), seconds, then.chat_content)


def tiny_png(index: int = 0, size: tuple[int, int] = (8, 8)) -> bytes:
    """A small PNG whose colour depends on ``index``, so images of one answer differ."""
    colour = ((60 * index + 40) % 256, (90 * index + 120) % 256, (150 * index + 200) % 256)
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def chat_completion(content: str, model: str) -> dict:
    return {
        "id": f"chatcmpl-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": max(1, len(content) // 4),
                  "total_tokens": 10 + max(1, len(content) // 4)},
    }


def _images_body(images: list[bytes]) -> dict:
    return {
        "created": int(time.time()),
        "data": [{"b64_json": base64.b64encode(data).decode("ascii")} for data in images],
    }


class FakeOpenAI:
    """Context manager: a threaded HTTP server on 127.0.0.1:<free port> with the OpenAI routes
    ``/v1/chat/completions`` and ``/v1/images/generations``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.chat_handler: Callable[[dict], str] = lambda body: '{"ok": true}'
        self.images_handler: Callable[[dict], list[bytes]] = lambda body: [
            tiny_png(i) for i in range(int(body.get("n", 1)))
        ]
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one, whatever its route."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not consumed yet."""
        with self._lock:
            return len(self._queue)

    def _next(self, path: str, body: Any) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
        if not isinstance(body, dict):
            return Reply.status(400, {"error": {"message": "body must be a JSON object",
                                                "type": "invalid_request_error"}})
        if path == "/v1/chat/completions":
            return Reply.chat(self.chat_handler(body))
        if path == "/v1/images/generations":
            return Reply.json(_images_body(self.images_handler(body)))
        return Reply.status(404, {"error": {"message": f"Unknown route {path}", "type": "not_found"}})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                fake.requests.append(Recorded(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, raw, parsed
                ))
                reply = fake._next(self.path, parsed)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = reply.body
                headers = dict(reply.headers)
                if reply.chat_content is not None:
                    model = parsed.get("model", "") if isinstance(parsed, dict) else ""
                    body = json.dumps(chat_completion(reply.chat_content, model)).encode()
                    headers["Content-Type"] = "application/json"
                try:
                    self.send_response(reply.code)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler
