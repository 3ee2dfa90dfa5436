"""The review panel's tables: items, their renders, ratings and manual hours."""

from __future__ import annotations

import json
import time


class ReviewTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""


    def add_review_item(self, item: dict) -> tuple[int, bool]:
        """Insert an item (``key`` unique); an item whose key exists is left as it is.
        Returns (id, whether it was new)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO review_items (key, destination, arm, headline, body, cta, image, provenance, "
                "machine_seconds, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [item["key"], item["destination"], item["arm"], item["headline"], item.get("body", ""),
                 item.get("cta", ""), item.get("image"), json.dumps(item.get("provenance") or {}),
                 float(item.get("machine_seconds") or 0.0), item.get("source", ""), time.time()],
            )
            item_id = self.db.execute("SELECT id FROM review_items WHERE key = ?", [item["key"]]).fetchone()[0]
        return item_id, cursor.rowcount > 0

    def set_review_files(self, item_id: int, image: str | None, renders: dict[str, str]) -> None:
        """Record the files copied for an item (after its id is known: they live in its folder)."""
        with self.db.atomic():
            self.db.execute("UPDATE review_items SET image = ? WHERE id = ?", [image, item_id])
            for fmt, name in renders.items():
                self.db.execute("INSERT OR REPLACE INTO review_renders (item_id, format, file) VALUES (?, ?, ?)",
                                [item_id, fmt, name])

    def review_items(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT id, key, destination, arm, headline, body, cta, image, provenance, machine_seconds, source, "
            "created_at FROM review_items ORDER BY id").fetchall()
        return [_review_item(row) for row in rows]

    def review_item(self, item_id: int) -> dict | None:
        row = self.db.execute(
            "SELECT id, key, destination, arm, headline, body, cta, image, provenance, machine_seconds, source, "
            "created_at FROM review_items WHERE id = ?", [item_id]).fetchone()
        return _review_item(row) if row else None

    def review_renders(self, item_id: int) -> dict[str, str]:
        rows = self.db.execute("SELECT format, file FROM review_renders WHERE item_id = ? ORDER BY rowid",
                               [item_id]).fetchall()
        return dict(rows)

    def rated_item_ids(self, reviewer: str) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT item_id FROM review_ratings WHERE reviewer = ?", [reviewer])}

    def record_rating(self, rating: dict) -> None:
        """One rating per reviewer and item: rating again replaces the earlier one."""
        with self.db.atomic():
            self.db.execute(
                "INSERT OR REPLACE INTO review_ratings (item_id, reviewer, rating, approved, comment, seconds, rated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [rating["item_id"], rating["reviewer"], rating["rating"], int(bool(rating["approved"])),
                 rating.get("comment", ""), float(rating.get("seconds") or 0.0), time.time()])

    def rating(self, item_id: int, reviewer: str) -> dict | None:
        row = self.db.execute("SELECT rating, approved, comment, seconds, rated_at FROM review_ratings "
                              "WHERE item_id = ? AND reviewer = ?", [item_id, reviewer]).fetchone()
        if row is None:
            return None
        return {"rating": row[0], "approved": bool(row[1]), "comment": row[2], "seconds": row[3], "rated_at": row[4]}

    def review_ratings(self) -> list[dict]:
        """Every rating with its item's destination, arm and machine seconds (what the report needs)."""
        rows = self.db.execute(
            "SELECT r.item_id, i.destination, i.arm, r.reviewer, r.rating, r.approved, r.seconds, i.machine_seconds "
            "FROM review_ratings r JOIN review_items i ON i.id = r.item_id ORDER BY r.item_id, r.reviewer").fetchall()
        keys = ("item_id", "destination", "arm", "reviewer", "rating", "approved", "seconds", "machine_seconds")
        return [dict(zip(keys, row)) | {"approved": bool(row[5])} for row in rows]

    def set_manual_hours(self, destination: str, hours: float) -> None:
        with self.db.atomic():
            self.db.execute("INSERT OR REPLACE INTO manual_hours (destination, hours, entered_at) VALUES (?, ?, ?)",
                            [destination, float(hours), time.time()])

    def manual_hours(self) -> dict[str, float]:
        return dict(self.db.execute("SELECT destination, hours FROM manual_hours ORDER BY destination").fetchall())


def _review_item(row: tuple) -> dict:
    keys = ("id", "key", "destination", "arm", "headline", "body", "cta", "image", "provenance", "machine_seconds",
            "source", "created_at")
    item = dict(zip(keys, row))
    item["provenance"] = json.loads(item["provenance"] or "{}")
    return item
