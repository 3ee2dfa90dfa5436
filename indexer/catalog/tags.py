"""Tags: the model's suggestions, people's decisions, thresholds per model, and which contents
were scored by which (model, taxonomy).

Everything is keyed by content hash, so a copy, a move or a rename keeps its tags and decisions.
Suggestions are the model's and are replaced when the library is re-tagged; decisions are
people's and are never touched by a re-tag or a model change. A suggestion is *shown* when its
confidence reaches the tag's threshold, nobody has decided on it, and (for tags of an exclusive
group) it is the most confident of its group for that content.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np


@dataclass(frozen=True)
class SuggestionWrite:
    hash: str
    tag: str
    confidence: float
    group: str | None


@dataclass(frozen=True)
class TagRow:
    """One tag on one asset as a reviewer or a search sees it."""

    asset_id: int
    tag: str
    confidence: float | None  # None for a tag a person added without a suggestion
    status: str  # "suggested" | "accepted" | "rejected"
    reviewer: str | None = None


@dataclass(frozen=True)
class ThresholdRow:
    tag: str
    threshold: float
    source: str  # "taxonomy" | "calibrated" | "set"
    precision: float | None
    recall: float | None
    decisions: int


DECISIONS = ("accepted", "rejected")
# A suggestion is shown for review (and counts for search filters) at or above this confidence,
# unless its tag has a threshold of its own; measured in BENCHMARKS.md "Tagging".
DEFAULT_THRESHOLD = 2.0

# A suggestion is shown when it reaches its threshold (the tag's for this model, else the default
# bound as the last parameter), nobody has decided on it, and it leads its exclusive group.
_SHOWN = """
    WITH ranked AS (
        SELECT s.hash, s.tag, s.confidence, s.grp,
               CASE WHEN s.grp IS NULL THEN 1 ELSE
                   row_number() OVER (PARTITION BY s.hash, s.grp ORDER BY s.confidence DESC) END AS place
        FROM tag_suggestions s
        WHERE s.model = :model
          AND s.confidence >= coalesce((SELECT t.threshold FROM tag_thresholds t
                                        WHERE t.model = s.model AND t.tag = s.tag), :default)
    )
    SELECT r.hash, r.tag, r.confidence FROM ranked r
    WHERE r.place = 1 AND NOT EXISTS (SELECT 1 FROM tag_decisions d WHERE d.hash = r.hash AND d.tag = r.tag)
"""


class TagTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""

    # -- the tagger's writes ------------------------------------------------------------------

    def untagged_vectors(self, version: str, chunk: int = 20_000) -> Iterator[tuple[list[str], np.ndarray]]:
        """(hashes, vectors) of catalogued contents not yet scored by ``version``, in chunks."""
        cursor = self.db.execute(
            "SELECT c.hash, c.vector FROM contents c LEFT JOIN tagged t ON t.hash = c.hash "
            "WHERE c.vector IS NOT NULL AND (t.hash IS NULL OR t.version != ?) "
            "AND EXISTS (SELECT 1 FROM assets a WHERE a.hash = c.hash) ORDER BY c.hash", [version])
        while rows := cursor.fetchmany(chunk):
            yield [r[0] for r in rows], np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def untagged_count(self, version: str) -> int:
        return self.db.execute(
            "SELECT count(*) FROM contents c LEFT JOIN tagged t ON t.hash = c.hash "
            "WHERE c.vector IS NOT NULL AND (t.hash IS NULL OR t.version != ?) "
            "AND EXISTS (SELECT 1 FROM assets a WHERE a.hash = c.hash)", [version]).fetchone()[0]

    def write_suggestions(self, model: str, version: str, hashes: list[str],
                          suggestions: Iterable[SuggestionWrite]) -> None:
        """Replace the suggestions of ``hashes`` with ``suggestions`` and mark them scored by
        ``version``, in one transaction (a kill leaves each chunk all old or all new)."""
        now = time.time()
        with self.db.atomic():
            self.db.conn.executemany("DELETE FROM tag_suggestions WHERE hash = ?", [(h,) for h in hashes])
            self.db.conn.executemany(
                "INSERT INTO tag_suggestions (hash, tag, confidence, grp, model, at) VALUES (?, ?, ?, ?, ?, ?)",
                [(s.hash, s.tag, s.confidence, s.group, model, now) for s in suggestions])
            self.db.conn.executemany("INSERT OR REPLACE INTO tagged (hash, version) VALUES (?, ?)",
                                     [(h, version) for h in hashes])

    def set_tag_calibration(self, model: str, version: str, rows: dict[str, tuple[float, float]]) -> None:
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO tag_calibration (model, taxonomy, tag, centre, spread) VALUES (?, ?, ?, ?, ?)",
                [(model, version, tag, centre, spread) for tag, (centre, spread) in rows.items()])

    def tag_calibration(self, model: str, version: str) -> dict[str, tuple[float, float]]:
        return {tag: (centre, spread) for tag, centre, spread in self.db.execute(
            "SELECT tag, centre, spread FROM tag_calibration WHERE model = ? AND taxonomy = ?", [model, version])}

    # -- people's decisions and thresholds ----------------------------------------------------

    def record_tag_decisions(self, decisions: list[tuple[int, str, str]], reviewer: str | None) -> int:
        """(asset id, tag, "accepted" | "rejected") decisions, by content; the latest wins.
        Returns how many were recorded (unknown asset ids are skipped)."""
        now = time.time()
        written, touched = 0, []
        with self.db.atomic():
            for asset_id, tag, decision in decisions:
                row = self.db.execute(
                    "SELECT a.hash, s.confidence, s.model FROM assets a LEFT JOIN tag_suggestions s "
                    "ON s.hash = a.hash AND s.tag = ? WHERE a.id = ?", [tag, asset_id]).fetchone()
                if row is None:
                    continue
                self.db.execute(
                    "INSERT OR REPLACE INTO tag_decisions (hash, tag, decision, reviewer, confidence, model, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", [row[0], tag, decision, reviewer, row[1], row[2], now])
                touched.append(row[0])
                written += 1
            self.refresh_words(touched)  # accepted tags are searchable words
        return written

    def set_tag_thresholds(self, model: str, rows: list[ThresholdRow]) -> None:
        now = time.time()
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO tag_thresholds (model, tag, threshold, source, precision, recall, "
                "decisions, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(model, r.tag, r.threshold, r.source, r.precision, r.recall, r.decisions, now) for r in rows])

    def replace_taxonomy_thresholds(self, model: str, rows: list[ThresholdRow]) -> None:
        """The taxonomy file's thresholds for ``model``, replacing the file's earlier ones but never
        a threshold calibrated from decisions or set by hand."""
        now = time.time()
        with self.db.atomic():
            self.db.execute("DELETE FROM tag_thresholds WHERE model = ? AND source = 'taxonomy'", [model])
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO tag_thresholds (model, tag, threshold, source, precision, recall, "
                "decisions, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(model, r.tag, r.threshold, r.source, r.precision, r.recall, r.decisions, now) for r in rows])

    def tag_thresholds(self, model: str) -> dict[str, ThresholdRow]:
        return {r[0]: ThresholdRow(*r) for r in self.db.execute(
            "SELECT tag, threshold, source, precision, recall, decisions FROM tag_thresholds WHERE model = ?",
            [model])}

    def decided_confidences(self, model: str, tag: str) -> list[tuple[float, bool]]:
        """(confidence under ``model``, accepted?) of every decision on ``tag``, for calibration.
        The confidence is the current suggestion's when one exists, else the one the reviewer saw."""
        return [(float(c), d == "accepted") for c, d in self.db.execute(
            "SELECT coalesce(s.confidence, CASE WHEN d.model = ? THEN d.confidence END) AS c, d.decision "
            "FROM tag_decisions d LEFT JOIN tag_suggestions s ON s.hash = d.hash AND s.tag = d.tag "
            "AND s.model = ? WHERE d.tag = ? AND c IS NOT NULL", [model, model, tag])]

    def decided_tags(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT tag FROM tag_decisions ORDER BY tag")]

    # -- reads for the review queue and search ------------------------------------------------

    def shown_suggestions(self, model: str, default_threshold: float, *, tag: str | None = None,
                          asset_id: int | None = None, limit: int = 100, offset: int = 0) -> list[TagRow]:
        """Suggestions waiting for a person, most confident first, one row per asset (its
        lowest id when a content has several paths)."""
        where, params = [], {"model": model, "default": default_threshold, "limit": limit, "offset": offset}
        if tag is not None:
            where.append("shown.tag = :tag")
            params["tag"] = tag
        if asset_id is not None:
            where.append("shown.hash = (SELECT hash FROM assets WHERE id = :asset)")
            params["asset"] = asset_id
        sql = (f"SELECT (SELECT min(a.id) FROM assets a WHERE a.hash = shown.hash) AS asset_id, shown.tag, "
               f"shown.confidence FROM ({_SHOWN}) shown "
               f"WHERE {' AND '.join(where) or '1'} AND asset_id IS NOT NULL "
               "ORDER BY shown.confidence DESC, asset_id, shown.tag LIMIT :limit OFFSET :offset")
        return [TagRow(a, t, c, "suggested") for a, t, c in self.db.execute(sql, params)]

    def asset_tags(self, asset_id: int, model: str, default_threshold: float) -> list[TagRow]:
        """Every tag of one asset: decisions first (accepted, rejected), then shown suggestions."""
        rows = [TagRow(asset_id, t, c, d, r) for t, d, c, r in self.db.execute(
            "SELECT d.tag, d.decision, d.confidence, d.reviewer FROM tag_decisions d "
            "WHERE d.hash = (SELECT hash FROM assets WHERE id = ?) ORDER BY d.decision, d.tag", [asset_id])]
        return rows + self.shown_suggestions(model, default_threshold, asset_id=asset_id, limit=1000)

    def tag_counts(self, model: str, default_threshold: float) -> dict[str, tuple[int, int, int]]:
        """tag -> (shown suggestions, accepted, rejected), counted by content."""
        counts: dict[str, list[int]] = {}
        for tag, n in self.db.execute(f"SELECT tag, count(*) FROM ({_SHOWN}) GROUP BY tag",
                                      {"model": model, "default": default_threshold}):
            counts.setdefault(tag, [0, 0, 0])[0] = n
        for tag, decision, n in self.db.execute(
                "SELECT tag, decision, count(*) FROM tag_decisions GROUP BY tag, decision"):
            counts.setdefault(tag, [0, 0, 0])[1 if decision == "accepted" else 2] = n
        return {tag: tuple(c) for tag, c in sorted(counts.items())}

    def tag_facets(self, asset_ids: list[int], default_threshold: float) -> dict[str, int]:
        """tag -> how many of ``asset_ids`` have it (the search filter's meaning: accepted, or
        suggested at threshold and not rejected), most common first."""
        if not asset_ids:
            return {}
        ids = list(dict.fromkeys(asset_ids))[:900]
        marks = ",".join("?" * len(ids))
        return dict(self.db.execute(
            "SELECT tag, count(*) FROM ("
            f"SELECT a.id, d.tag FROM assets a JOIN tag_decisions d ON d.hash = a.hash WHERE a.id IN ({marks}) "
            "AND d.decision = 'accepted' UNION "
            f"SELECT a.id, s.tag FROM assets a JOIN tag_suggestions s ON s.hash = a.hash WHERE a.id IN ({marks}) "
            "AND s.confidence >= coalesce((SELECT t.threshold FROM tag_thresholds t WHERE t.model = s.model "
            "AND t.tag = s.tag), ?) AND NOT EXISTS (SELECT 1 FROM tag_decisions r WHERE r.hash = s.hash "
            "AND r.tag = s.tag AND r.decision = 'rejected')) GROUP BY tag ORDER BY count(*) DESC, tag",
            [*ids, *ids, default_threshold]).fetchall())

    def accepted_tags_by_hash(self, hashes: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for start in range(0, len(hashes), 900):
            part = hashes[start:start + 900]
            for h, tag in self.db.execute(
                    f"SELECT hash, tag FROM tag_decisions WHERE decision = 'accepted' AND hash IN "
                    f"({','.join('?' * len(part))}) ORDER BY tag", part):
                found.setdefault(h, []).append(tag)
        return found


def tag_clause(tags: tuple[str, ...]) -> tuple[str, list]:
    """"This asset has every one of ``tags``", as a clause over assets ``a`` for search filters: a
    person accepted the tag, or the model suggests it at or above its threshold (the tag's for the
    suggesting model, else the default) and nobody rejected it."""
    one = ("(EXISTS (SELECT 1 FROM tag_decisions d WHERE d.hash = a.hash AND d.tag = ? AND d.decision = 'accepted') "
           "OR (EXISTS (SELECT 1 FROM tag_suggestions s WHERE s.hash = a.hash AND s.tag = ? "
           "AND s.confidence >= coalesce((SELECT t.threshold FROM tag_thresholds t WHERE t.model = s.model "
           "AND t.tag = s.tag), ?)) "
           "AND NOT EXISTS (SELECT 1 FROM tag_decisions d WHERE d.hash = a.hash AND d.tag = ? "
           "AND d.decision = 'rejected')))")
    return " AND ".join([one] * len(tags)) or "1", [p for tag in tags for p in (tag, tag, DEFAULT_THRESHOLD, tag)]
