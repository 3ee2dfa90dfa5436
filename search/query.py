"""What a user asks for, parsed into one :class:`Query`.

Mini-syntax for the text part (documented in the README)::

    sunlit beach, families | warm tone:0.5 | -people

Parts are separated by ``|``. A part starting with ``-`` pushes results away from it. A trailing
``:NUMBER`` sets the part's weight (default 1). Commas are ordinary text, so a plain sentence is
one part. ``--minus TEXT`` on the CLI is the same as ``| -TEXT``; ``--like`` adds example images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from indexer.errors import QueryError

ORIENTATIONS = ("landscape", "portrait", "square")
_WEIGHT = re.compile(r"^(?P<text>.*?):(?P<weight>[+-]?\d+(?:\.\d+)?)$", re.S)


@dataclass(frozen=True)
class Part:
    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class Example:
    """An example image: an asset id, a catalogued path, any image file on disk, or (for uploads)
    an already embedded vector."""

    ref: str
    weight: float = 1.0
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Filters:
    folder: str | None = None  # absolute path prefix
    orientation: str | None = None
    min_width: int | None = None
    min_height: int | None = None
    formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.orientation and self.orientation not in ORIENTATIONS:
            raise QueryError(
                f"Unknown orientation {self.orientation!r}.", hint=f"Use one of {', '.join(ORIENTATIONS)}."
            )
        for name in ("min_width", "min_height"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise QueryError(f"{name} must not be negative, got {value}.")

    @property
    def active(self) -> bool:
        return bool(self.folder or self.orientation or self.min_width or self.min_height or self.formats)

    def sql(self) -> tuple[str, list]:
        """A WHERE clause over assets ``a`` joined to contents ``c``."""
        clauses, params = ["1"], []
        if self.folder:
            prefix = self.folder.rstrip("/")
            clauses.append("(a.folder = ? OR a.folder LIKE ? ESCAPE '\\')")
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [prefix, escaped + "/%"]
        if self.orientation == "landscape":
            clauses.append("c.width > c.height * 1.05")
        elif self.orientation == "portrait":
            clauses.append("c.height > c.width * 1.05")
        elif self.orientation == "square":
            clauses.append("c.width <= c.height * 1.05 AND c.height <= c.width * 1.05")
        if self.min_width:
            clauses.append("c.width >= ?")
            params.append(self.min_width)
        if self.min_height:
            clauses.append("c.height >= ?")
            params.append(self.min_height)
        if self.formats:
            clauses.append(f"upper(c.format) IN ({','.join('?' * len(self.formats))})")
            params += [normalize_format(f) for f in self.formats]
        return " AND ".join(clauses), params


def split_formats(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``--format jpeg,png --format tiff`` (or repeated ?format=) as one tuple of names."""
    return tuple(name for value in values for name in value.split(",") if name)


def normalize_format(name: str) -> str:
    upper = name.strip().lstrip(".").upper()
    return {"JPG": "JPEG", "TIF": "TIFF", "HEIC": "HEIF", "JP2": "JPEG2000"}.get(upper, upper)


@dataclass(frozen=True)
class Query:
    parts: tuple[Part, ...] = ()
    examples: tuple[Example, ...] = ()
    filters: Filters = field(default_factory=Filters)
    limit: int = 20
    offset: int = 0
    min_score: float | None = None  # raw cosine floor
    min_relevance: float | None = None  # calibrated floor; None = the engine's default
    include_all: bool = False  # no calibrated cutoff at all

    def __post_init__(self) -> None:
        if not self.parts and not self.examples:
            raise QueryError("Nothing to search for.", hint='Give text ("a cat") or --like IMAGE.')
        if not any(p.weight > 0 for p in self.parts) and not self.examples:
            raise QueryError(
                "A query needs at least one positive part; negatives alone match everything.",
                hint='e.g. "beach | -people" rather than "-people".',
            )
        if not 1 <= self.limit <= 1000:
            raise QueryError(f"limit must be between 1 and 1000, got {self.limit}.")
        if not 0 <= self.offset <= 100_000:
            raise QueryError(f"offset must be between 0 and 100000, got {self.offset}.")


def parse_text(text: str, minus: list[str] | tuple[str, ...] = ()) -> tuple[Part, ...]:
    parts: list[Part] = []
    for raw in text.split("|") if text else []:
        raw = raw.strip()
        if not raw:
            continue
        negative = raw.startswith("-")
        if negative:
            raw = raw[1:].strip()
        weight = 1.0
        match = _WEIGHT.match(raw)
        if match:
            raw, weight = match.group("text").strip(), float(match.group("weight"))
        if not raw:
            raise QueryError(f"Query part {text!r} has a weight but no text.")
        if weight < 0:
            raise QueryError(f"Weight {weight} is negative; write '-text' for a negative part.")
        parts.append(Part(raw, -weight if negative else weight))
    parts += [Part(m.strip(), -1.0) for m in minus if m.strip()]
    return tuple(parts)
