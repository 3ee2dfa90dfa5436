"""What a user asks for, parsed into one :class:`Query`.

Mini-syntax for the text part (documented in the README)::

    sunlit beach, families | warm tone:0.5 | -people

Parts are separated by ``|``. A part starting with ``-`` pushes results away from it. A trailing
``:NUMBER`` sets the part's weight (default 1). Commas are ordinary text, so a plain sentence is
one part. ``--minus TEXT`` on the CLI is the same as ``| -TEXT``; ``--like`` adds example images.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from indexer.catalog import GENERATED_CLAUSE
from indexer.catalog.safety import SAFETY_CLAUSES
from indexer.catalog.media import media_clause
from indexer.catalog.tags import tag_clause
from indexer.errors import QueryError

ORIENTATIONS = ("landscape", "portrait", "square")
# vector: meaning only; keyword: the keyword index only; hybrid: both, fused (search.fusion).
MODES = ("vector", "keyword", "hybrid")
SOURCES = {"any": None, "library": False, "generated": True}
_WEIGHT = re.compile(r"^(?P<text>.*?):(?P<weight>[+-]?\d+(?:\.\d+)?)$", re.S)

# Every text part costs a model call, so a query's size is bounded: a URL with thousands of
# "|" parts would otherwise buy seconds of CPU per request.
MAX_QUERY_CHARS = 2000
MAX_PARTS = 16
MAX_EXAMPLES = 16
MAX_WEIGHT = 100.0
MAX_DIMENSION = 1_000_000  # pixels; a min_width above this can only be a typo
MAX_TAG_FILTERS = 8
# SQLite integers are signed 64-bit; anything larger can never be an asset id.
MAX_ASSET_ID = 2**63 - 1
# Format names the catalog can hold (Pillow's names, plus RAW for camera files). A name outside
# this set can never match, so it is refused rather than answered with silence.
KNOWN_FORMATS = frozenset({
    "JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "DIB", "JPEG2000", "PPM", "HEIF", "AVIF",
    "PSD", "ICO", "TGA", "RAW", "PCX", "SGI", "XBM", "EPS", "DDS", "QOI",
})
_FORMAT_ALIASES = {"JPG": "JPEG", "JPE": "JPEG", "JFIF": "JPEG", "TIF": "TIFF", "HEIC": "HEIF",
                   "JP2": "JPEG2000", "J2K": "JPEG2000", "PNM": "PPM", "PGM": "PPM", "PBM": "PPM",
                   "DNG": "RAW", "CR2": "RAW", "CR3": "RAW", "NEF": "RAW", "ARW": "RAW"}


@dataclass(frozen=True)
class Part:
    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class Example:
    """An example image: exactly one of a catalogued asset (by id), an image file on disk, or an
    already embedded vector (an upload).

    Paths are for the command line only: the HTTP layer builds examples from asset ids and
    uploads, so a request can never make the server read a file of its choosing.
    """

    asset_id: int | None = None
    path: str | None = None
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    label: str = ""
    weight: float = 1.0

    def __post_init__(self) -> None:
        given = sum(x is not None for x in (self.asset_id, self.path, self.vector))
        if given != 1:
            raise QueryError("An example is exactly one of an asset id, an image path or an upload.")

    @property
    def name(self) -> str:
        return self.label or (str(self.asset_id) if self.asset_id is not None else self.path or "upload")


def parse_asset_id(value: str) -> int:
    """An asset id as a user typed it: ASCII digits in SQLite's integer range, else a QueryError
    (never an OverflowError or a ValueError from an exotic digit such as "²")."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not 1 <= int(text) <= MAX_ASSET_ID:
        raise QueryError(f"{value!r} is not an asset id.",
                         hint="Asset ids are positive whole numbers, as in search results (--json).")
    return int(text)


def example_from_ref(ref: str, *, allow_paths: bool) -> Example:
    """``--like`` / ``like=``: an asset id, or (command line only) a path to an image file."""
    text = str(ref).strip()
    if text.isascii() and text.isdigit():
        return Example(asset_id=parse_asset_id(text))
    if not allow_paths:
        raise QueryError(f"like={ref!r} is not an asset id.",
                         hint="Over HTTP, examples are asset ids from search results, or uploaded "
                         "images (POST /api/examples, then example=ID).")
    if not text:
        raise QueryError("An empty --like was given.", hint="Pass an asset id or an image path.")
    return Example(path=text)


@dataclass(frozen=True)
class Filters:
    folder: str | None = None  # absolute path prefix
    orientation: str | None = None
    min_width: int | None = None
    min_height: int | None = None
    formats: tuple[str, ...] = ()
    generated: bool | None = None  # True: only generated images; False: only the library's own
    safety: str | None = None  # stored brand-safety verdicts: safe, not-blocked, review, blocked
    # Embedded metadata (indexer.metadata): capture time in unix seconds, from inclusive, to
    # exclusive; a part of "make model"; with or without GPS; expired and restricted rights left out.
    captured_from: float | None = None
    captured_to: float | None = None
    camera: str | None = None
    has_gps: bool | None = None
    exclude_flagged: bool = False
    tags: tuple[str, ...] = ()  # every one of these: accepted by a person, or suggested and not rejected

    def __post_init__(self) -> None:
        if self.orientation and self.orientation not in ORIENTATIONS:
            raise QueryError(
                f"Unknown orientation {self.orientation!r}.", hint=f"Use one of {', '.join(ORIENTATIONS)}."
            )
        for name in ("min_width", "min_height"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_DIMENSION:
                raise QueryError(f"{name} must be between 0 and {MAX_DIMENSION}, got {value}.")
        self.check_formats()
        if len(self.tags) > MAX_TAG_FILTERS or any(not 0 < len(t) <= 64 for t in self.tags):
            raise QueryError(f"At most {MAX_TAG_FILTERS} tags of up to 64 characters each can filter a search.")
        if self.safety and self.safety not in SAFETY_CLAUSES:
            raise QueryError(f"Unknown safety filter {self.safety!r}.", hint=f"Use one of {', '.join(SAFETY_CLAUSES)} "
                             "(verdicts of the last `scout safety`).")

    @property
    def active(self) -> bool:
        return bool(self.folder or self.orientation or self.min_width or self.min_height or self.formats
                    or self.generated is not None or self.media_clause()[1] or bool(self.safety) or bool(self.tags))

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
        if self.generated is not None:
            clauses.append(GENERATED_CLAUSE if self.generated else f"NOT {GENERATED_CLAUSE}")
        if self.safety:
            clauses.append(SAFETY_CLAUSES[self.safety])
        if self.tags:
            clause, tag_params = tag_clause(self.tags)
            clauses.append(clause)
            params += tag_params
        media, media_params = self.media_clause()
        clauses.append(media)
        return " AND ".join(clauses), params + media_params

    def media_clause(self) -> tuple[str, list]:
        return media_clause(captured_from=self.captured_from, captured_to=self.captured_to, camera=self.camera,
                            has_gps=self.has_gps, exclude_flagged=self.exclude_flagged)

    def check_formats(self) -> None:
        unknown = [f for f in self.formats if normalize_format(f) not in KNOWN_FORMATS]
        if unknown:
            raise QueryError(
                f"Unknown image format{'s' if len(unknown) > 1 else ''}: {', '.join(map(repr, unknown))}.",
                hint="Use names such as jpeg, png, webp, tiff, heif, gif, raw (see `scout status`).")


def parse_source(source: str) -> bool | None:
    """``--source`` / ``?source=``: ``library`` (photos only), ``generated`` (generated images
    only) or ``any``, as the value of :attr:`Filters.generated`."""
    value = (source or "any").strip().lower()
    if value not in SOURCES:
        raise QueryError(f"Unknown source {source!r}.", hint=f"Use one of {', '.join(SOURCES)}.")
    return SOURCES[value]


def parse_capture_range(start: str | None, end: str | None) -> tuple[float | None, float | None]:
    """``--captured-from 2021-06-01 --captured-to 2021-06-30`` (days, both inclusive, UTC, as
    capture times are stored) as the unix-second bounds of :class:`Filters` (the end exclusive)."""
    from datetime import date, datetime, timedelta, timezone

    bounds = []
    for text, extra in ((start, 0), (end, 1)):
        if not text:
            bounds.append(None)
            continue
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise QueryError(f"{text!r} is not a date.", hint="Write dates as YYYY-MM-DD, e.g. 2021-06-05.") from None
        if extra and day == date.max:  # "to the last day there is": no upper bound at all
            bounds.append(None)
            continue
        day += timedelta(days=extra)
        bounds.append(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
    if bounds[0] is not None and bounds[1] is not None and bounds[0] >= bounds[1]:
        raise QueryError(f"The capture range {start} to {end} is empty.", hint="Put the earlier date first.")
    return bounds[0], bounds[1]


def split_formats(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``--format jpeg,png --format tiff`` (or repeated ?format=) as one tuple of names."""
    return tuple(name for value in values for name in value.split(",") if name)


def split_tags(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``--tag beach,sunset --tag "city street"`` (or repeated ?tag=) as one tuple of tag names."""
    return tuple(dict.fromkeys(t.strip().lower() for value in values for t in value.split(",") if t.strip()))


def normalize_format(name: str) -> str:
    upper = name.strip().lstrip(".").upper()
    return _FORMAT_ALIASES.get(upper, upper)


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
    # The command line and the HTTP API default to hybrid; library callers (the brief pipeline's
    # reuse decisions) keep pure meaning unless they ask.
    mode: str = "vector"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise QueryError(f"Unknown search mode {self.mode!r}.", hint=f"Use one of {', '.join(MODES)}.")
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
        if len(self.parts) > MAX_PARTS or len(self.examples) > MAX_EXAMPLES:
            raise QueryError(
                f"A query may have at most {MAX_PARTS} text parts and {MAX_EXAMPLES} examples "
                f"(got {len(self.parts)} and {len(self.examples)}).",
                hint="Fold related words into one part: 'beach, sunset, families'.")
        for name in ("min_score", "min_relevance"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise QueryError(f"{name} must be a finite number, got {value}.")


def parse_text(text: str, minus: list[str] | tuple[str, ...] = ()) -> tuple[Part, ...]:
    total = len(text or "") + sum(len(m) for m in minus)
    if total > MAX_QUERY_CHARS:
        raise QueryError(f"The query is {total} characters long; at most {MAX_QUERY_CHARS} are read.",
                         hint="Shorten it to the words that matter.")
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
        if not weight <= MAX_WEIGHT:
            raise QueryError(f"Weight {match.group('weight')[:20]} of {raw[:40]!r} is too large.",
                             hint=f"Weights are relative; use numbers up to {MAX_WEIGHT:g}.")
        parts.append(Part(raw, -weight if negative else weight))
    parts += [Part(m.strip(), -1.0) for m in minus if m.strip()]
    return tuple(parts)
