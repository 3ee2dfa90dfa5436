"""How generated contents were made (prompt, seed, model, brief), keyed by content hash."""

from __future__ import annotations

import json


class ProvenanceTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""


    def record_provenance(self, content_hash: str, provenance: dict) -> bool:
        """Remember how a generated content was made; the first record wins (a re-save of the same
        image must not rewrite its history). Returns whether a new record was written."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO provenance (hash, brief_id, generator, model, created_at, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [content_hash, provenance.get("brief_id"), provenance.get("generator"),
                 provenance.get("model"), provenance.get("created_at"), json.dumps(provenance)],
            )
        return cursor.rowcount > 0

    def provenance(self, content_hash: str) -> dict | None:
        row = self.db.execute("SELECT data FROM provenance WHERE hash = ?", [content_hash]).fetchone()
        return json.loads(row[0]) if row else None
