"""A small client for OpenAI-compatible endpoints: chat completions (JSON answers, image input)
and image generation.

Scout talks to whatever serves the OpenAI wire format: a local Ollama or vLLM server, LM Studio,
or a hosted API. Those servers fail in ordinary ways (rate limits, restarts, a model that wraps its
JSON in a Markdown fence or forgets it), so the client retries what is worth retrying with
exponential backoff, honours ``Retry-After``, and ends with one :class:`ServiceUnavailable` that
names the endpoint, the model, the last problem and the attempts made: never a traceback.

It never follows a URL a server hands back (an image ``url`` answer is refused): the only host
Scout contacts is the one the user configured.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar
from urllib.parse import urlsplit

import httpx

from indexer.errors import ConfigError, ServiceUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# A server asking us to wait longer than this is treated as asking for this long: a batch run
# should report a dead endpoint in minutes, not hang for an hour on one header.
RETRY_AFTER_CAP_S = 60.0

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF", b"GIF8")


@dataclass(frozen=True)
class EndpointSettings:
    """Where one OpenAI-compatible service lives and how patiently to talk to it."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 1.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"Endpoint base URL {self.base_url!r} is not an http(s) URL.",
                hint="Use something like http://127.0.0.1:11434/v1 (Ollama) or https://api.openai.com/v1.",
            )
        object.__setattr__(self, "base_url", self.base_url.strip().rstrip("/"))
        if not self.model.strip():
            raise ConfigError(
                f"No model named for the endpoint {self.base_url}.",
                hint="Set the model the server should use, e.g. SCOUT_VLM_MODEL=llava.",
            )
        if not self.timeout_s > 0:
            raise ConfigError(f"Endpoint timeout must be positive, got {self.timeout_s}.")
        if self.max_retries < 0:
            raise ConfigError(f"Endpoint max_retries must be 0 or more, got {self.max_retries}.")
        if self.backoff_s < 0:
            raise ConfigError(f"Endpoint backoff must be 0 or more, got {self.backoff_s}.")

    @classmethod
    def from_env(cls, prefix: str, environ: Mapping[str, str]) -> "EndpointSettings | None":
        """``{prefix}_BASE_URL``, ``{prefix}_MODEL``, ``{prefix}_API_KEY`` (falls back to
        ``OPENAI_API_KEY``), ``{prefix}_TIMEOUT``. None when ``{prefix}_BASE_URL`` is unset.

        Called at the edge (CLI / app factory) with ``os.environ``; nothing below ``api/`` reads
        the environment itself.
        """
        base_url = environ.get(f"{prefix}_BASE_URL", "").strip()
        if not base_url:
            return None
        model = environ.get(f"{prefix}_MODEL", "").strip()
        if not model:
            raise ConfigError(
                f"{prefix}_BASE_URL is set but {prefix}_MODEL is not.",
                hint=f"Set {prefix}_MODEL to the model name the server at {base_url} knows.",
            )
        timeout_text = environ.get(f"{prefix}_TIMEOUT", "").strip()
        try:
            timeout_s = float(timeout_text) if timeout_text else 60.0
        except ValueError:
            raise ConfigError(
                f"{prefix}_TIMEOUT must be a number of seconds, got {timeout_text!r}."
            ) from None
        api_key = environ.get(f"{prefix}_API_KEY") or environ.get("OPENAI_API_KEY") or None
        return cls(base_url=base_url, model=model, api_key=api_key, timeout_s=timeout_s)


class _Retry(Exception):
    """One attempt failed in a way worth trying again; ``wait_s`` overrides the backoff."""

    def __init__(self, problem: str, wait_s: float | None = None):
        super().__init__(problem)
        self.problem = problem
        self.wait_s = wait_s


def image_content(data: bytes, mime: str = "image/jpeg") -> dict:
    """A chat message content part carrying an image as a ``data:`` URL (what vision models take)."""
    encoded = base64.b64encode(data).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{encoded}"}}


class OpenAIClient:
    """One client per :class:`EndpointSettings`; holds an HTTP connection pool, nothing global."""

    def __init__(self, settings: EndpointSettings, *, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self._sleep = sleep
        headers = {"Accept": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._http = httpx.Client(
            base_url=settings.base_url, headers=headers, timeout=settings.timeout_s,
            follow_redirects=False, trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "OpenAIClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return f"{self.settings.base_url} (model {self.settings.model})"

    # -- chat ---------------------------------------------------------------------------------

    def chat_json(self, messages: list[dict], *, schema: dict | None = None,
                  parse: Callable[[dict], T] = lambda d: d, temperature: float = 0.2,
                  max_tokens: int | None = None, schema_name: str = "answer") -> T:
        """POST ``/chat/completions`` and return ``parse(answer as a dict)``.

        With ``schema`` the server is asked for ``response_format: json_schema`` (strict); a
        server that rejects that with 400 is asked once more with ``json_object``, which far more
        servers support. Content wrapped in a Markdown fence is accepted. JSON or ``parse``
        failures count as a malformed answer and are retried like a 5xx.
        """
        body: dict[str, Any] = {
            "model": self.settings.model, "messages": messages, "temperature": temperature,
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            }

        def fallback(response: httpx.Response) -> dict | None:
            if body.get("response_format", {}).get("type") == "json_schema":
                log.info("%s refused json_schema output; asking for json_object", self.endpoint)
                return {**body, "response_format": {"type": "json_object"}}
            return None

        def read(answer: Any) -> T:
            try:
                content = answer["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError):
                raise _Retry("the answer has no choices[0].message.content") from None
            data = _json_from_content(content)
            try:
                return parse(data)
            except Exception as exc:  # pydantic ValidationError, KeyError...: a malformed answer
                raise _Retry(f"the answer did not fit the expected shape ({_one_line(exc)})") from None

        return self._post("/chat/completions", body, read, fallback)

    # -- images -------------------------------------------------------------------------------

    def generate_images(self, prompt: str, *, n: int = 1, size: str = "1024x1024",
                        extra: dict | None = None) -> list[bytes]:
        """POST ``/images/generations`` asking for ``b64_json``; returns the decoded image bytes.

        A server that answers with ``url`` only is refused, not followed. A server that rejects
        the ``response_format`` field itself (some only ever answer base64) is asked once more
        without it.
        """
        body: dict[str, Any] = {
            "model": self.settings.model, "prompt": prompt, "n": n, "size": size,
            "response_format": "b64_json", **(extra or {}),
        }

        def fallback(response: httpx.Response) -> dict | None:
            if "response_format" in body and "response_format" in response.text:
                return {k: v for k, v in body.items() if k != "response_format"}
            return None

        def read(answer: Any) -> list[bytes]:
            items = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(items, list) or not items:
                raise _Retry("the answer has no data[] images")
            images = []
            for item in items:
                encoded = item.get("b64_json") if isinstance(item, dict) else None
                if not encoded:
                    if isinstance(item, dict) and item.get("url"):
                        raise ServiceUnavailable(
                            f"The image endpoint {self.endpoint} answered with an image URL instead "
                            "of base64 data; Scout does not fetch URLs a server hands back.",
                            hint="Use a server or model that supports response_format=b64_json.",
                        )
                    raise _Retry("an image in data[] has no b64_json")
                try:
                    data = base64.b64decode(encoded, validate=True)
                except (binascii.Error, ValueError):
                    raise _Retry("an image's b64_json is not valid base64") from None
                if not data.startswith(_IMAGE_MAGIC):
                    raise _Retry("an image's b64_json does not decode to a PNG, JPEG, WebP or GIF")
                images.append(data)
            return images

        return self._post("/images/generations", body, read, fallback)

    # -- the retry loop -----------------------------------------------------------------------

    def _post(self, path: str, body: dict, read: Callable[[Any], T],
              fallback: Callable[[httpx.Response], dict | None]) -> T:
        attempts = self.settings.max_retries + 1
        fell_back = False
        problem = "no attempt made"
        attempt = 0
        while attempt < attempts:
            try:
                response = self._http.post(path, json=body)
            except httpx.TimeoutException:
                problem = f"no answer within {self.settings.timeout_s:g} s"
                wait = None
            except httpx.TransportError as exc:
                problem = f"connection failed ({_one_line(exc)})"
                wait = None
            else:
                status = response.status_code
                if status == 400 and not fell_back and (retry_body := fallback(response)) is not None:
                    body, fell_back = retry_body, True
                    continue  # a different request, not a retry: costs no attempt and no wait
                if status == 429 or status >= 500:
                    problem = f"HTTP {status}{_server_message(response)}"
                    wait = _retry_after(response)
                elif status >= 300:
                    raise ServiceUnavailable(
                        f"The endpoint {self.endpoint} refused the request to {path}: "
                        f"HTTP {status}{_server_message(response)}.",
                        hint=_hint_for(status),
                    )
                else:
                    try:
                        return read(_json_body(response))
                    except _Retry as retry:
                        problem, wait = f"malformed answer: {retry.problem}", retry.wait_s
            attempt += 1
            if attempt < attempts:
                delay = self.settings.backoff_s * 2 ** (attempt - 1) if wait is None else wait
                log.info("%s%s: %s; retry %d/%d in %.1f s", self.endpoint, path, problem, attempt,
                         attempts - 1, delay)
                self._sleep(delay)
        raise ServiceUnavailable(
            f"The endpoint {self.endpoint} gave no usable answer to {path} after {attempts} "
            f"attempt{'s' if attempts != 1 else ''}: {problem}.",
            hint="Check that the server is running and serves this model; raise the timeout or "
            "retries if it is only slow.",
        )


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise _Retry(f"the body is not JSON ({response.text[:80]!r})") from None


def _json_from_content(content: Any) -> dict:
    """The assistant's message as a JSON object, tolerating Markdown fences and chatter around it."""
    if isinstance(content, list):  # some servers return content parts even for text
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str) or not content.strip():
        raise _Retry("the message content is empty")
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    for candidate in (text, text[text.find("{"): text.rfind("}") + 1]):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    raise _Retry(f"the message content is not a JSON object ({content[:80]!r})")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_S)


def _server_message(response: httpx.Response) -> str:
    """The server's own explanation (OpenAI's ``error.message`` shape, else the text), shortened."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = response.text
    message = _one_line(message or "")
    return f" ({message[:200]})" if message else ""


def _hint_for(status: int) -> str:
    if status in (401, 403):
        return "Check the API key (the *_API_KEY setting or OPENAI_API_KEY)."
    if status == 404:
        return "Check the base URL (it usually ends in /v1) and that the server knows this model."
    return "The server could not use this request; check the model name and its capabilities."


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
