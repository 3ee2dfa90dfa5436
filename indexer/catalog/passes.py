"""Which contents a content pass (OCR, embedded metadata, perceptual hash, ...) still has to see.

Every pass stores one row per content in a table of its own, keyed by ``hash`` and stamped with
the version of what produced it (an engine id, a reader version, a policy version). A content
is pending when it has no row, or a row from another version: that is the whole of
incremental behaviour for every pass, written once here.
"""

from __future__ import annotations

# Tables a pass may keep its results in, with the column holding the producer's version. An
# allow-list because the name is put into SQL.
PASS_TABLES = {"ocr": "engine", "media_meta": "reader", "perceptual": "method", "safety": "policy"}


def _checked(table: str) -> str:
    if table not in PASS_TABLES:
        raise ValueError(f"{table!r} is not a content-pass table (known: {', '.join(PASS_TABLES)}).")
    return PASS_TABLES[table]


class PassTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""

    def pending_contents(self, table: str, version: str, limit: int, after: str = "") -> list[tuple[str, str]]:
        """Up to ``limit`` (content hash, one path holding it) not yet seen by ``version``, in
        hash order after ``after``: a pass pages through them with the last hash it got, so
        contents it failed on in this run are not handed back to it."""
        column = _checked(table)
        return [tuple(row) for row in self.db.execute(
            f"SELECT c.hash, (SELECT min(a.path) FROM assets a WHERE a.hash = c.hash) FROM contents c "
            f"LEFT JOIN {table} t ON t.hash = c.hash "
            f"WHERE c.hash > ? AND (t.hash IS NULL OR t.{column} != ?) "
            f"AND EXISTS (SELECT 1 FROM assets a WHERE a.hash = c.hash) ORDER BY c.hash LIMIT ?",
            [after, version, limit])]

    def pending_count(self, table: str, version: str) -> int:
        column = _checked(table)
        return self.db.execute(
            f"SELECT count(*) FROM contents c LEFT JOIN {table} t ON t.hash = c.hash "
            f"WHERE (t.hash IS NULL OR t.{column} != ?) AND EXISTS (SELECT 1 FROM assets a WHERE a.hash = c.hash)",
            [version]).fetchone()[0]
