"""Embedded metadata (``media_meta``): the metadata pass's writes, the detail view's and the
export's reads, and the search filters over it (capture date, camera, GPS, usage rights).

Rights are judged twice on purpose: ``rights`` holds what the file itself says ('restricted', or
'expired' for a licence that had already ended when it was read), and a licence end date still in
the future is kept in ``fields`` as ``license_end`` (unix seconds) and compared with the clock at
read time, so an asset whose licence runs out next month is flagged next month without re-indexing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

from indexer.catalog.rows import ASSET_COLUMNS, AssetRow

MEDIA_COLUMNS = ("captured_at", "camera", "lens", "has_gps", "latitude", "longitude", "title", "description",
                 "keywords", "creator", "copyright", "usage_terms", "rating", "rights", "fields", "error")
# A content whose licence has ended by ``now`` (the one parameter), as a clause over media_meta ``m``.
_ENDED = "CAST(json_extract(m.fields, '$.license_end') AS REAL) <= ?"
_FLAGGED = f"(m.rights IS NOT NULL OR {_ENDED})"
_STEP = 900


@dataclass(frozen=True)
class MediaRow:
    """What the catalog holds about one content's embedded metadata."""

    hash: str
    captured_at: float | None
    camera: str | None
    lens: str | None
    has_gps: bool
    latitude: float | None
    longitude: float | None
    title: str | None
    description: str | None
    keywords: tuple[str, ...]
    creator: str | None
    copyright: str | None
    usage_terms: str | None
    rating: int | None
    rights: str | None  # 'expired' | 'restricted' | None, as judged at read time
    fields: dict
    error: str | None

    @property
    def richness(self) -> int:
        """How many of the summary fields are filled: the last tie-break for a duplicate keeper."""
        return sum(bool(getattr(self, name)) for name in MEDIA_COLUMNS[:14] if name != "rights")


def _row(values: tuple, now: float) -> MediaRow:
    (content_hash, captured_at, camera, lens, has_gps, latitude, longitude, title, description, keywords,
     creator, copyright_, usage_terms, rating, rights, fields, error) = values
    fields = json.loads(fields) if fields else {}
    ended = fields.get("license_end")
    if rights is None and isinstance(ended, (int, float)) and ended <= now:
        rights = "expired"
    return MediaRow(content_hash, captured_at, camera, lens, bool(has_gps), latitude, longitude, title, description,
                    tuple(json.loads(keywords)) if keywords else (), creator, copyright_, usage_terms, rating,
                    rights, fields, error)


def media_clause(*, captured_from: float | None = None, captured_to: float | None = None,
                 camera: str | None = None, has_gps: bool | None = None, exclude_flagged: bool = False,
                 now: float | None = None) -> tuple[str, list]:
    """A clause over assets ``a`` for the metadata filters of :class:`search.query.Filters`
    (``("1", [])`` when none is set). ``captured_to`` is exclusive; ``camera`` matches a part of
    "make model", case-insensitively; ``exclude_flagged`` drops expired and restricted assets."""
    clauses, params = [], []
    if captured_from is not None:
        clauses.append("m.captured_at >= ?")
        params.append(captured_from)
    if captured_to is not None:
        clauses.append("m.captured_at < ?")
        params.append(captured_to)
    if camera:
        escaped = camera.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("lower(m.camera) LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    if has_gps is not None:
        clauses.append("m.has_gps = ?")
        params.append(int(has_gps))
    parts, values = [], []
    if clauses:
        parts.append(f"EXISTS (SELECT 1 FROM media_meta m WHERE m.hash = a.hash AND {' AND '.join(clauses)})")
        values += params
    if exclude_flagged:
        parts.append(f"NOT EXISTS (SELECT 1 FROM media_meta m WHERE m.hash = a.hash AND {_FLAGGED})")
        values.append(time.time() if now is None else now)
    return (" AND ".join(parts) or "1"), values


class MediaTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""

    def write_media(self, reader: str, rows: Iterable[tuple[str, dict | None, str | None]]) -> list[str]:
        """Store (hash, values by column name or None, error) per content in one transaction;
        returns the hashes written. A failed read gets a row too (with ``error``), so it is not
        retried until the reader changes."""
        now = time.time()
        records = []
        for content_hash, values, error in rows:
            values = dict(values or {})
            values["keywords"] = json.dumps(list(values["keywords"])) if values.get("keywords") else None
            values["fields"] = json.dumps(values["fields"]) if values.get("fields") else None
            values["has_gps"] = int(bool(values.get("has_gps")))
            values["error"] = error
            records.append((content_hash, reader, *(values.get(c) for c in MEDIA_COLUMNS), now))
        columns = ", ".join(("hash", "reader", *MEDIA_COLUMNS, "at"))
        with self.db.atomic():
            self.db.conn.executemany(
                f"INSERT OR REPLACE INTO media_meta ({columns}) VALUES ({', '.join('?' * (len(MEDIA_COLUMNS) + 3))})",
                records)
            hashes = [r[0] for r in records]
            self.refresh_words(hashes)
        return hashes

    def media_for_hashes(self, hashes: Iterable[str], now: float | None = None) -> dict[str, MediaRow]:
        hashes, found = list(dict.fromkeys(hashes)), {}
        now = time.time() if now is None else now
        for start in range(0, len(hashes), _STEP):
            part = hashes[start : start + _STEP]
            for values in self.db.execute(
                f"SELECT hash, {', '.join(MEDIA_COLUMNS)} FROM media_meta WHERE hash IN ({','.join('?' * len(part))})",
                part,
            ):
                found[values[0]] = _row(values, now)
        return found

    def media_for_hash(self, content_hash: str) -> MediaRow | None:
        return self.media_for_hashes([content_hash]).get(content_hash)

    def flagged_hashes(self, now: float | None = None) -> set[str]:
        """Contents whose rights are expired or restricted (kept out of the brief pipeline's reuse)."""
        return {r[0] for r in self.db.execute(f"SELECT m.hash FROM media_meta m WHERE {_FLAGGED}",
                                              [time.time() if now is None else now])}

    def export_rows(self, chunk: int = 1000) -> Iterator[tuple[AssetRow, MediaRow | None]]:
        """Every asset in id order with its embedded metadata (None when not read yet)."""
        cursor = self.db.execute(f"SELECT {ASSET_COLUMNS} FROM assets a JOIN contents c ON c.hash = a.hash ORDER BY a.id")
        while rows := cursor.fetchmany(chunk):
            assets = [AssetRow(*row) for row in rows]
            media = self.media_for_hashes(a.hash for a in assets)
            yield from ((a, media.get(a.hash)) for a in assets)
