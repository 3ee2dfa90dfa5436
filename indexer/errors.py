"""One exception hierarchy for all of Scout.

Code below ``api/`` raises these; the CLI and the HTTP app map each class to an exit code or a
status code in one table at the edge. Every error carries a message that says what went wrong and,
where there is one, a hint that says what to do about it.
"""

from __future__ import annotations


class ScoutError(Exception):
    """Base class: anything Scout reports to a user deliberately."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message

    def __reduce__(self):
        """Errors cross process boundaries (index workers, a Ray cluster); the default pickling
        re-calls ``__init__`` with the message only, which loses the hint and the subclass's
        own fields (or fails outright)."""
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def _rebuild(cls: type, args: tuple, state: dict) -> ScoutError:
    error = Exception.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigError(ScoutError):
    """A setting or argument is invalid (bad model spec, unknown device, out-of-range option)."""


class LibraryNotFound(ScoutError):
    """The library directory does not exist or holds no catalog."""


class LibraryReadOnly(ConfigError):
    """The library folder is on storage Scout cannot write (a read-only mount, a file in the way)."""


class DiskFull(LibraryReadOnly):
    """The disk holding the library has no space left; what was committed before stays usable."""


class LibraryBusy(ScoutError):
    """Another process holds the library's writer lock (an index run is in progress)."""


class ModelMismatch(ScoutError):
    """The library was embedded with a different model than the one asked for."""


class ComponentUnavailable(ScoutError):
    """A pluggable backend (encoder, aligner, generator, copy writer, safety check) is unknown,
    or its Python dependencies, weights or service are missing."""


class EncoderUnavailable(ComponentUnavailable):
    """An encoder backend is unknown or its Python dependencies are missing."""


class WeightsUnavailable(EncoderUnavailable):
    """Model weights are not on this machine and may not be downloaded."""


class QueryError(ScoutError):
    """A search request cannot be understood (empty query, bad syntax, bad filter)."""


class AssetNotFound(ScoutError):
    """An asset id or path is not in the catalog."""


class DecodeError(ScoutError):
    """One file could not be turned into pixels.

    Index runs record these per file and carry on; ``reason`` is a stable machine-readable code
    (``empty``, ``not_an_image``, ``truncated``, ``too_large``, ``unreadable``, ``decode_failed``).
    """

    def __init__(self, reason: str, message: str, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.reason = reason


class AccessDenied(ScoutError):
    """A request would read something outside the library's roots."""


class UnsupportedImage(ScoutError):
    """Uploaded bytes are not an image Scout can read."""


class TooLarge(ScoutError):
    """An upload or image exceeds a configured size or pixel limit."""


class Unauthorized(ScoutError):
    """No API token was sent where one is required."""


class Forbidden(ScoutError):
    """The API token sent is wrong."""


class ServiceUnavailable(ComponentUnavailable):
    """A hosted or local model service (an OpenAI-compatible endpoint) stayed down, refused the
    request or kept answering something unusable after the retries."""


class StaleResult(ScoutError):
    """A page was asked for from a result the library has changed since (paging must start over)."""
