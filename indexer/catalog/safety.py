"""Brand-safety verdicts by content (table ``safety``, migration 7), and the search filters on them.

One row per content: the verdict, what was seen, the reasons with their evidence, every raw
signal, and the stamp of what produced it (policy name@digest, checks, model, OCR engine). A
content whose check failed has a row with its error and no verdict, so it is not retried until
the stamp changes; such a content, like one never judged, is *not* "safe" to a filter.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

# Search filters over verdicts, as WHERE clauses over assets ``a`` (search.query.Filters).
# "not-blocked" keeps unjudged contents (a library scored before its newest files were), "safe"
# keeps only contents judged safe by the stored policy.
SAFETY_CLAUSES = {
    "safe": "EXISTS (SELECT 1 FROM safety s WHERE s.hash = a.hash AND s.verdict = 'safe')",
    "not-blocked": "NOT EXISTS (SELECT 1 FROM safety s WHERE s.hash = a.hash AND s.verdict = 'block')",
    "review": "EXISTS (SELECT 1 FROM safety s WHERE s.hash = a.hash AND s.verdict = 'review')",
    "blocked": "EXISTS (SELECT 1 FROM safety s WHERE s.hash = a.hash AND s.verdict = 'block')",
}


@dataclass(frozen=True)
class SafetyRow:
    hash: str
    policy: str
    verdict: str | None = None  # None when the check failed (``error``)
    categories: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)
    signals: list[dict] = field(default_factory=list)
    error: str | None = None
    seconds: float | None = None
    at: float | None = None


@dataclass(frozen=True)
class SafetyCounts:
    safe: int
    review: int
    block: int
    failed: int
    unjudged: int  # contents with no verdict of the given stamp


_COLUMNS = "hash, policy, verdict, categories, contexts, reasons, signals, error, seconds, at"


def _row(values: tuple) -> SafetyRow:
    return SafetyRow(values[0], values[1], values[2], json.loads(values[3] or "[]"), json.loads(values[4] or "[]"),
                     json.loads(values[5] or "[]"), json.loads(values[6] or "[]"), values[7], values[8], values[9])


class SafetyTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""

    def store_safety(self, rows: list[SafetyRow]) -> None:
        if not rows:
            return
        now = time.time()
        with self.db.atomic():
            self.db.conn.executemany(
                f"INSERT OR REPLACE INTO safety ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.hash, r.policy, r.verdict, json.dumps(r.categories), json.dumps(r.contexts), json.dumps(r.reasons),
                  json.dumps(r.signals), r.error, r.seconds, now) for r in rows],
            )

    def safety_inputs(self, content_hash: str) -> tuple[bytes | None, list[dict] | None]:
        """What a safety check of a content reads from the catalog: its stored vector (raw
        float32 bytes) and its OCR lines (None when OCR has not read it)."""
        row = self.db.execute("SELECT c.vector, o.lines FROM contents c LEFT JOIN ocr o ON o.hash = c.hash "
                              "WHERE c.hash = ?", [content_hash]).fetchone()
        if row is None:
            return None, None
        return row[0], (json.loads(row[1]) if row[1] is not None else None)

    def safety(self, content_hash: str) -> SafetyRow | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM safety WHERE hash = ?", [content_hash]).fetchone()
        return _row(row) if row else None

    def safety_verdicts(self, hashes: list[str]) -> dict[str, str | None]:
        """hash -> verdict for the given contents that have a row (None for a failed check)."""
        found: dict[str, str | None] = {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            for content_hash, verdict in self.db.execute(
                    f"SELECT hash, verdict FROM safety WHERE hash IN ({','.join('?' * len(chunk))})", chunk):
                found[content_hash] = verdict
        return found

    def safety_counts(self, policy: str) -> SafetyCounts:
        """Over contents still held by an asset, for verdicts stamped ``policy``."""
        held = "EXISTS (SELECT 1 FROM assets a WHERE a.hash = s.hash)"
        counts = dict(self.db.execute(
            f"SELECT coalesce(s.verdict, 'failed'), count(*) FROM safety s WHERE s.policy = ? AND {held} "
            "GROUP BY 1", [policy]).fetchall())
        judged = sum(counts.values())
        total = self.db.execute("SELECT count(DISTINCT hash) FROM assets").fetchone()[0]
        return SafetyCounts(counts.get("safe", 0), counts.get("review", 0), counts.get("block", 0),
                            counts.get("failed", 0), max(0, total - judged))

    def verdict_counts(self) -> dict[str, int]:
        """Stored verdicts (safe / review / block / failed) of contents still held by an asset,
        whatever policy judged them: the overview ``scout status`` gives."""
        return dict(self.db.execute(
            "SELECT coalesce(s.verdict, 'failed'), count(*) FROM safety s "
            "WHERE EXISTS (SELECT 1 FROM assets a WHERE a.hash = s.hash) GROUP BY 1").fetchall())

    def flagged_assets(self, limit: int = 1000) -> list[tuple[int, str, SafetyRow]]:
        """(asset id, path, verdict row) of every asset judged review or block, worst first."""
        rows = self.db.execute(
            f"SELECT a.id, a.path, {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))} FROM safety s "
            "JOIN assets a ON a.hash = s.hash WHERE s.verdict IN ('review', 'block') "
            "ORDER BY s.verdict = 'block' DESC, a.path LIMIT ?", [limit]).fetchall()
        return [(row[0], row[1], _row(row[2:])) for row in rows]
