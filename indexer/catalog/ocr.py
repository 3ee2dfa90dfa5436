"""Text found in each content by OCR (table ``ocr``, migration 5), and the library's OCR switch.

One row per content: the text (lines joined by newlines), the lines with their boxes in the
original's pixel coordinates as JSON, the engine id that read it, and the error when reading
failed. A content with no text has a row with text '' and a failed one a row with its error, so
neither is read again until the engine changes (``indexer.catalog.passes`` pages by engine id).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

# meta key holding the per-library switch: "on" or "off" (absent: the caller's default)
OCR_SWITCH = "ocr"


@dataclass(frozen=True)
class OcrRow:
    hash: str
    engine: str
    text: str = ""
    lines: list[dict] = field(default_factory=list)  # {"text", "box": [[x, y]] * 4, "score"}
    error: str | None = None
    seconds: float | None = None


@dataclass(frozen=True)
class OcrCounts:
    read: int  # contents with a row of the given engine
    with_text: int
    failed: int


class OcrTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""

    def store_ocr(self, rows: list[OcrRow]) -> None:
        """Write one chunk of OCR results in one transaction, and refresh the keyword documents of
        the assets holding those contents in the same one."""
        if not rows:
            return
        now = time.time()
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO ocr (hash, engine, text, lines, error, seconds, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.hash, r.engine, r.text, json.dumps(r.lines), r.error, r.seconds, now) for r in rows],
            )
            self.refresh_words([r.hash for r in rows])  # the keyword index's "ocr" column

    def ocr(self, content_hash: str) -> OcrRow | None:
        row = self.db.execute(
            "SELECT hash, engine, text, lines, error, seconds FROM ocr WHERE hash = ?", [content_hash]).fetchone()
        if row is None:
            return None
        return OcrRow(row[0], row[1], row[2], json.loads(row[3] or "[]"), row[4], row[5])

    def ocr_counts(self) -> OcrCounts:
        """Over contents still held by an asset (rows of forgotten contents are not counted)."""
        read, with_text, failed = self.db.execute(
            "SELECT count(*), coalesce(sum(o.text != ''), 0), coalesce(sum(o.error IS NOT NULL), 0) FROM ocr o "
            "WHERE EXISTS (SELECT 1 FROM assets a WHERE a.hash = o.hash)").fetchone()
        return OcrCounts(read, with_text, failed)

    def ocr_enabled(self, default: bool = True) -> bool:
        value = self.get_meta(OCR_SWITCH)
        return default if value is None else value == "on"

    def set_ocr_enabled(self, enabled: bool) -> None:
        self.set_meta(**{OCR_SWITCH: "on" if enabled else "off"})
