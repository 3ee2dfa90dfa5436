"""Metadata photographers already embedded (EXIF, IPTC, XMP), read once per content at index time.

Read with exiv2 (through pyexiv2), the library darktable, digiKam and gThumb use, rather than a
parser of our own. pyexiv2 sets exiv2's log level once when it is imported (to its default,
warnings); Scout never changes it. Reads are serialised by one lock: exiv2's XMP toolkit keeps
process-wide state, and a read costs about a millisecond, so two threads would gain nothing.

The pass stores the fields Scout filters and searches on as columns of ``media_meta`` (see
:mod:`indexer.catalog.media`) and everything it read, as text, in ``fields``.

Which sources win when several say the same thing: XMP, then IPTC, then EXIF (XMP is what current
tools write and the only one holding Unicode reliably). Capture time: EXIF DateTimeOriginal with
its OffsetTimeOriginal when present, else XMP/IPTC creation dates; a time without an offset is
read as UTC, so a date filter matches the date on the camera's clock.

Usage rights (``rights``), the rule:

* ``expired``: an XMP-plus licence end date (``plus:LicenseEndDate``, or the end date of a
  ``plus:Licensee``/expiration field) lies in the past, or the usage terms state an end such as
  "expires 2024-01-31" / "valid until 31 January 2024" / "licence ends 2024-01-31" with a past
  date. A future end date is kept (``fields["license_end"]``) and judged at read time.
* ``restricted``: the usage terms (``xmpRights:UsageTerms``, IPTC special instructions) contain
  "restricted", "do not use", "do not publish", "not for commercial/advertising use", "no
  commercial use", "embargo" or "internal use only"; or a keyword is ``restricted`` or
  ``do-not-use``. "Editorial use only" is *not* restricted: news agencies put it on most photos,
  and editorial reuse is what many libraries do.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from indexer.passes import PassInput, failure_text

if TYPE_CHECKING:
    from indexer.catalog import Catalog
    from indexer.settings import IndexSettings

# What pyexiv2 hands back for a field is a str, a list (bags, seqs) or a dict (language
# alternatives); these are the keys read for each summary column, best source first.
TITLE = ("Xmp.dc.title", "Iptc.Application2.ObjectName", "Xmp.photoshop.Headline", "Iptc.Application2.Headline")
DESCRIPTION = ("Xmp.dc.description", "Iptc.Application2.Caption", "Exif.Image.ImageDescription")
KEYWORDS = ("Xmp.dc.subject", "Iptc.Application2.Keywords")
CREATOR = ("Xmp.dc.creator", "Iptc.Application2.Byline", "Exif.Image.Artist")
COPYRIGHT = ("Xmp.dc.rights", "Iptc.Application2.Copyright", "Exif.Image.Copyright")
USAGE = ("Xmp.xmpRights.UsageTerms", "Iptc.Application2.SpecialInstructions")
LENS = ("Exif.Photo.LensModel", "Xmp.exifEX.LensModel", "Xmp.aux.Lens", "Exif.Canon.LensModel")
RATING = ("Xmp.xmp.Rating", "Exif.Image.Rating")
LICENSE_END = ("Xmp.plus.LicenseEndDate", "Xmp.plus.LicenseExpirationDate")
CAPTURED = (("Exif.Photo.DateTimeOriginal", "Exif.Photo.OffsetTimeOriginal"),
            ("Xmp.exif.DateTimeOriginal", None), ("Xmp.photoshop.DateCreated", None), ("Xmp.xmp.CreateDate", None),
            ("Exif.Image.DateTime", "Exif.Photo.OffsetTime"))

_RESTRICTIVE = re.compile(
    r"\b(restricted|do\s+not\s+(use|publish|reproduce)|not\s+for\s+(commercial|advertising)|"
    r"no\s+commercial|embargo(ed)?|internal\s+use\s+only)\b", re.I)
_RESTRICTIVE_KEYWORDS = {"restricted", "do-not-use", "do not use"}
_STATED_END = re.compile(
    r"\b(expir(es|ed|y|ation)|until|valid\s+(until|through|thru|to)|licen[cs]e\s+ends?|ends?)\b\W{0,3}"
    r"(on\s+)?(?P<date>\d{4}-\d{2}-\d{2}|\d{1,2}\s+[A-Za-z]+\s+\d{4}|[A-Za-z]+\s+\d{1,2},?\s+\d{4})", re.I)
# Fields never copied into ``fields``: binary blobs and thumbnails, useless as text.
_SKIPPED = re.compile(r"MakerNote|Thumbnail|PrintImageMatching|\.0x[0-9a-f]{4}$|Exif\.Canon|Exif\.Nikon|Exif\.Sony|"
                      r"Exif\.Olympus|Exif\.Panasonic|Exif\.Fujifilm|Exif\.Pentax|Exif\.Samsung", re.I)
MAX_FIELD_CHARS = 2000
MAX_FIELDS = 400
MAX_KEYWORDS = 200

EXIV2_LOCK = threading.Lock()


@dataclass(frozen=True)
class MediaMeta:
    """One content's embedded metadata, as :meth:`Catalog.write_media` stores it."""

    captured_at: float | None = None  # unix seconds (UTC)
    camera: str | None = None
    lens: str | None = None
    has_gps: bool = False
    latitude: float | None = None
    longitude: float | None = None
    title: str | None = None
    description: str | None = None
    keywords: tuple[str, ...] = ()
    creator: str | None = None
    copyright: str | None = None
    usage_terms: str | None = None
    rating: int | None = None
    rights: str | None = None
    fields: dict = field(default_factory=dict)

    def as_values(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def exiv2_version() -> str:
    import pyexiv2

    return pyexiv2.__exiv2_version__


def read_raw(data: bytes | None, path: str) -> dict[str, object]:
    """Every EXIF, IPTC and XMP field exiv2 finds (the file at ``path`` when ``data`` is None).
    A section that does not decode as UTF-8 is read again as Latin-1 (old cameras' ASCII)."""
    import pyexiv2

    with EXIV2_LOCK:
        image = pyexiv2.ImageData(data) if data is not None else pyexiv2.Image(path)
        try:
            found: dict[str, object] = {}
            for read in (image.read_exif, image.read_iptc, image.read_xmp):
                try:
                    found.update(read())
                except UnicodeDecodeError:
                    found.update(read(encoding="latin-1"))
            return found
        finally:
            image.close()


def _text(value: object) -> str | None:
    """One string from a field: a language alternative's x-default (or first), a list joined."""
    if isinstance(value, dict):
        value = value.get('lang="x-default"') or next(iter(value.values()), None)
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v).strip() for v in value if str(v).strip())
    text = str(value).strip().strip("\x00").strip() if value is not None else ""
    return text[:MAX_FIELD_CHARS] or None


def _first(raw: dict, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        text = _text(raw.get(key))
        if text:
            return text
    return None


def _keywords(raw: dict) -> tuple[str, ...]:
    """dc:subject and IPTC keywords, each once (case-insensitively), in the order found."""
    seen: dict[str, str] = {}
    for key in KEYWORDS:
        value = raw.get(key)
        items = value if isinstance(value, (list, tuple)) else [value] if value else []
        for item in items:
            for word in str(item).split(",") if key.startswith("Iptc") else [str(item)]:
                word = word.strip().strip("\x00")
                if word and word.lower() not in seen:
                    seen[word.lower()] = word[:200]
    return tuple(seen.values())[:MAX_KEYWORDS]


def _camera(raw: dict) -> str | None:
    make, model = _text(raw.get("Exif.Image.Make")), _text(raw.get("Exif.Image.Model"))
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(x for x in (make, model) if x) or None


def _parse_offset(text: str | None) -> timezone | None:
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", (text or "").strip())
    if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        return None  # "+99:99" is no offset (and timezone() would raise, losing every field)
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return timezone((-1 if match.group(1) == "-" else 1) * timedelta(minutes=minutes))


def parse_datetime(text: str | None, offset: str | None = None) -> float | None:
    """Unix seconds from an EXIF ("2021:06:05 14:30:00") or ISO/XMP ("2021-06-05T14:30:00+02:00",
    "2021-06-05") date; the offset in the text, else ``offset``, else UTC."""
    text = (text or "").strip().strip("\x00")
    if not text or text.startswith("0000"):
        return None
    exif = re.fullmatch(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?", text)
    if exif:
        text = "{}-{}-{}T{}:{}:{}".format(*exif.groups()[:6])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_parse_offset(offset) or timezone.utc)
    return moment.timestamp()


def _captured(raw: dict) -> float | None:
    for key, offset_key in CAPTURED:
        value = parse_datetime(_text(raw.get(key)), _text(raw.get(offset_key)) if offset_key else None)
        if value is not None:
            return value
    return None


def _rational_degrees(text: str) -> float | None:
    """EXIF "48/1 51/1 2964/100" (degrees, minutes, seconds as rationals) in decimal degrees."""
    parts = []
    for piece in text.split():
        top, _, bottom = piece.partition("/")
        try:
            parts.append(float(top) / float(bottom or 1))
        except (ValueError, ZeroDivisionError):
            return None
    if not parts or len(parts) > 3:
        return None
    return sum(value / 60**i for i, value in enumerate(parts))


def _xmp_degrees(text: str) -> float | None:
    """XMP "48,51.494N" or "48,51,29.64N" in signed decimal degrees."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?([NSEW])", text.strip().upper())
    if not match:
        return None
    degrees, minutes, seconds, ref = match.groups()
    value = float(degrees) + float(minutes) / 60 + float(seconds or 0) / 3600
    return -value if ref in "SW" else value


def _gps(raw: dict) -> tuple[float, float] | None:
    found = []
    for axis, limit in (("Latitude", 90.0), ("Longitude", 180.0)):
        value = None
        exif = _text(raw.get(f"Exif.GPSInfo.GPS{axis}"))
        if exif:
            value = _rational_degrees(exif)
            if value is not None and (_text(raw.get(f"Exif.GPSInfo.GPS{axis}Ref")) or "").upper()[:1] in ("S", "W"):
                value = -value
        if value is None and _text(raw.get(f"Xmp.exif.GPS{axis}")):
            value = _xmp_degrees(_text(raw.get(f"Xmp.exif.GPS{axis}")))
        if value is None or not math.isfinite(value) or abs(value) > limit:
            return None
        found.append(round(value, 7))
    return found[0], found[1]


def _rating(raw: dict) -> int | None:
    text = _first(raw, RATING)
    try:
        rating = round(float(text)) if text else None
    except (ValueError, OverflowError):  # "abc", "nan"; "1e999" is infinite
        return None
    return None if rating is None else max(-1, min(5, rating))


def _date_in(text: str) -> float | None:
    """A date written in usage terms ("2024-01-31", "31 January 2024", "January 31, 2024"), as
    the end of that day, UTC."""
    for pattern in ("%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y"):
        try:
            day = datetime.strptime(text.replace(",", ""), pattern).date()
        except ValueError:
            continue
        return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=timezone.utc).timestamp()
    return None


def license_end(raw: dict, usage_terms: str | None) -> float | None:
    """When the licence ends (unix seconds), from XMP-plus or the usage terms; None if unstated."""
    for key in LICENSE_END:
        text = _text(raw.get(key))
        if text:
            moment = parse_datetime(text[:10]) if re.match(r"\d{4}-\d{2}-\d{2}", text) else None
            if moment is not None:
                return moment + 86399  # the licence holds through that day
    match = _STATED_END.search(usage_terms or "")
    return _date_in(match.group("date")) if match else None


def judge_rights(keywords: tuple[str, ...], usage_terms: str | None, ends: float | None, now: float) -> str | None:
    """'restricted', 'expired' or None, by the rule in the module docstring."""
    if (usage_terms and _RESTRICTIVE.search(usage_terms)) or any(k.lower() in _RESTRICTIVE_KEYWORDS
                                                                  for k in keywords):
        return "restricted"
    if ends is not None and ends <= now:
        return "expired"
    return None


def _fields(raw: dict) -> dict[str, str]:
    kept = {}
    for key in sorted(raw):
        if _SKIPPED.search(key) or len(kept) >= MAX_FIELDS:
            continue
        text = _text(raw[key])
        if text:
            kept[key] = text
    return kept


def extract(raw: dict, now: float) -> MediaMeta:
    """The summary Scout stores, from what :func:`read_raw` found."""
    keywords = _keywords(raw)
    usage = _first(raw, USAGE)
    ends = license_end(raw, usage)
    gps = _gps(raw)
    fields_ = _fields(raw)
    if ends is not None:
        fields_["license_end"] = ends
    return MediaMeta(
        captured_at=_captured(raw), camera=_camera(raw), lens=_first(raw, LENS), has_gps=gps is not None,
        latitude=gps[0] if gps else None, longitude=gps[1] if gps else None,
        title=_first(raw, TITLE), description=_first(raw, DESCRIPTION), keywords=keywords,
        creator=_first(raw, CREATOR), copyright=_first(raw, COPYRIGHT), usage_terms=usage, rating=_rating(raw),
        rights=judge_rights(keywords, usage, ends, now), fields=fields_,
    )


class MetadataPass:
    """The content pass storing :class:`MediaMeta` per content in ``media_meta``.

    ``version`` names exiv2's version and this reader's rules: a change of either re-reads every
    content on the next index run.
    """

    name = "metadata"
    table = "media_meta"
    RULES = "1"

    def __init__(self, today: date | None = None):
        self.version = f"exiv2-{exiv2_version()}/scout-{self.RULES}"
        moment = datetime.combine(today, datetime.min.time(), timezone.utc) if today else None
        self._now = moment.timestamp() if moment else None

    def process(self, item: PassInput) -> MediaMeta:
        return extract(read_raw(item.data, item.path), self._now if self._now is not None else time.time())

    def commit(self, catalog: "Catalog", results: list[tuple[PassInput, object]]) -> None:
        catalog.write_media(self.version, [
            (item.hash, None, failure_text(result)) if isinstance(result, Exception)
            else (item.hash, result.as_values(), None)
            for item, result in results
        ])


def librarian_passes(settings: "IndexSettings") -> list:
    """The passes every index run makes for librarians: embedded metadata, then the perceptual
    hash. Always on: together about 25 ms a content against ~300 ms of embedding on 2 cores
    (BENCHMARKS.md "Content passes"), and an unchanged re-run costs one query each."""
    from indexer.perceptual import PerceptualPass

    return [MetadataPass(), PerceptualPass(settings.max_pixels)]
