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
    (AssetNotFound, 7, 404),
    (AccessDenied, 9, 403),
    (Unauthorized, 9, 401),
    (Forbidden, 9, 403),
    (UnsupportedImage, 2, 415),
    (TooLarge, 2, 413),
    (ScoutError, 1, 500),
]

EXIT_STRICT_FAILURES = 8
EXIT_INTERRUPTED = 130


def exit_code(error: ScoutError) -> int:
    return next(code for cls, code, _ in _TABLE if isinstance(error, cls))


def http_status(error: ScoutError) -> int:
    return next(status for cls, _, status in _TABLE if isinstance(error, cls))
