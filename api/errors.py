"""Where Scout's exceptions meet the outside world: one table for exit codes and HTTP statuses."""

from __future__ import annotations

from indexer.errors import (
    AccessDenied,
    AssetNotFound,
    Forbidden,
    TooLarge,
    Unauthorized,
    UnsupportedImage,
    ComponentUnavailable,
    ConfigError,
    EncoderUnavailable,
    LibraryBusy,
    LibraryNotFound,
    ModelMismatch,
    QueryError,
    ScoutError,
    StaleResult,
    WeightsUnavailable,
)

# Most specific first: the first matching class wins.
_TABLE: list[tuple[type[ScoutError], int, int]] = [
    (WeightsUnavailable, 5, 503),
    (EncoderUnavailable, 5, 503),
    (ComponentUnavailable, 5, 503),
    (ConfigError, 2, 400),
    (QueryError, 2, 400),
    (LibraryNotFound, 3, 404),
    (ModelMismatch, 4, 409),
    (LibraryBusy, 6, 409),
    (StaleResult, 2, 409),
    (AssetNotFound, 7, 404),
    (AccessDenied, 9, 403),
    (Unauthorized, 9, 401),
    (Forbidden, 9, 403),
    (UnsupportedImage, 2, 415),
    (TooLarge, 2, 413),
    (ScoutError, 1, 500),
]

_STATUS_MEANING = {
    400: "Bad query or parameter, or a host name this server does not answer",
    401: "An API token is required",
    403: "Wrong token, a cross-site request, or a file outside the library's folders",
    404: "Unknown asset, job or endpoint",
    409: "Busy (another index run), a model mismatch, or a page of a result the library has changed since",
    413: "Upload or body too large (bytes or megapixels)",
    415: "The upload is not an image Scout can read",
    422: "A parameter fails validation (type or range)",
    500: "A bug in Scout",
    503: "A model, its weights or a configured service is unavailable",
}
# Documented on every operation in the OpenAPI schema; every error body is {"error", "hint"}.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"description": meaning, "content": {"application/json": {"schema": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string"}, "hint": {"type": ["string", "null"]},
                       "detail": {"type": "array"}},
    }}}}
    for status, meaning in _STATUS_MEANING.items()
}

EXIT_STRICT_FAILURES = 8
EXIT_INTERRUPTED = 130


def exit_code(error: ScoutError) -> int:
    return next(code for cls, code, _ in _TABLE if isinstance(error, cls))


def http_status(error: ScoutError) -> int:
    return next(status for cls, _, status in _TABLE if isinstance(error, cls))
