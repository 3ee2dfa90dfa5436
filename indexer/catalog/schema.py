"""The catalog's schema: numbered migrations, and how a Scout catalog is recognised.

Each migration runs once, in its own transaction, and bumps ``PRAGMA user_version``; a library
made by an older Scout is upgraded the first time it is opened.
"""

from __future__ import annotations

from typing import Callable

from indexer.catalog.sqlite_utils_lean import sqlite_utils

# PRAGMA application_id of every Scout catalog ("SCOT"): how Scout tells its own file from
# another program's SQLite database before touching it. Catalogs from before it was set are
# recognised by their tables.
APPLICATION_ID = 0x53434F54
SCOUT_TABLES = frozenset({"meta", "roots", "contents", "assets", "runs"})


def _migration_1(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["roots"].create({"path": str, "added_at": float}, pk="path")
    db["contents"].create(
        {
            "hash": str,
            "format": str,
            "width": int,
            "height": int,
            "mode": str,
            "vector": bytes,
            "thumbnail": str,
            "created_at": float,
        },
        pk="hash",
    )
    db["assets"].create(
        {
            "id": int,
            "path": str,
            "root": str,
            "folder": str,
            "name": str,
            "size": int,
            "mtime_ns": int,
            "hash": str,
            "gen": int,
            "indexed_at": float,
        },
        pk="id",
        not_null={"path", "hash"},
        foreign_keys=[("hash", "contents", "hash")],
    )
    db["assets"].create_index(["path"], unique=True)
    db["assets"].create_index(["hash"])
    db["assets"].create_index(["root"])
    db["assets"].create_index(["gen"])
    for name in ("failures", "ignored"):
        columns = {"path": str, "root": str, "size": int, "mtime_ns": int, "at": float}
        if name == "failures":
            columns |= {"reason": str, "message": str, "hint": str}
        db[name].create(columns, pk="path")
        db[name].create_index(["root"])
    db["runs"].create(
        {
            "id": int,
            "started_at": float,
            "finished_at": float,
            "status": str,
            "model": str,
            "roots": str,
            "stats": str,
        },
        pk="id",
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    """Tombstones: ids of removed assets, so FAISS snapshots can be patched instead of rebuilt."""
    db["tombstones"].create({"id": int, "gen": int}, pk="id")
    db["tombstones"].create_index(["gen"])


def _migration_3(db: sqlite_utils.Database) -> None:
    """Provenance of generated images, keyed by content so a copy or a move stays "generated"."""
    db["provenance"].create(
        {"hash": str, "brief_id": str, "generator": str, "model": str, "created_at": float, "data": str},
        pk="hash",
    )
    db["provenance"].create_index(["brief_id"])


def _migration_4(db: sqlite_utils.Database) -> None:
    """The review panel: items to rate (one per copy variant or manual piece), their rendered
    files, each reviewer's rating (one per reviewer and item), and manual hours per destination."""
    db["review_items"].create(
        {"id": int, "key": str, "destination": str, "arm": str, "headline": str, "body": str, "cta": str,
         "image": str, "provenance": str, "machine_seconds": float, "source": str, "created_at": float},
        pk="id", not_null={"key", "destination", "arm", "headline"},
    )
    db["review_items"].create_index(["key"], unique=True)
    db["review_items"].create_index(["destination"])
    db["review_renders"].create({"item_id": int, "format": str, "file": str}, pk=("item_id", "format"),
                                foreign_keys=[("item_id", "review_items", "id")])
    db["review_ratings"].create(
        {"item_id": int, "reviewer": str, "rating": int, "approved": int, "comment": str, "seconds": float,
         "rated_at": float},
        pk=("item_id", "reviewer"), foreign_keys=[("item_id", "review_items", "id")],
    )
    db["manual_hours"].create({"destination": str, "hours": float, "entered_at": float}, pk="destination")


# From migration 5 on, tables are plain DDL with a ``{schema}`` placeholder: a catalog from an older
# Scout that sits on read-only media (opened immutable, so it cannot be migrated) gets the same
# tables, empty, in the connection's ``temp`` schema, and every query reads it like a new one.
DDL_5 = [
    # Text found in each content by OCR: the joined text (for the keyword index and the detail
    # view) and the lines with their boxes in original pixel coordinates, as JSON. A content
    # with no text gets a row with text '' so it is not read again; ``engine`` names the OCR
    # engine and its settings, and a change of engine re-reads everything.
    "CREATE TABLE {schema}ocr (hash TEXT PRIMARY KEY, engine TEXT NOT NULL, text TEXT NOT NULL, "
    "lines TEXT NOT NULL, error TEXT, seconds REAL, at REAL)",
    # The keyword index: one document per asset (rowid = asset id), one column per field, so a
    # hit can say where it matched. Maintained by the catalog whenever an asset or one of the
    # tables feeding it changes (indexer/catalog/words.py).
    "CREATE VIRTUAL TABLE {schema}asset_words USING fts5(name, folder, keywords, ocr, tags, "
    "tokenize = 'unicode61 remove_diacritics 2')",
]
DDL_6 = [
    # Metadata embedded in the file (EXIF, IPTC, XMP), by content: the fields Scout filters and
    # searches on as columns, everything read as JSON in ``fields``. ``rights`` is NULL, or
    # 'expired' / 'restricted' when the usage terms or licence dates say so.
    "CREATE TABLE {schema}media_meta (hash TEXT PRIMARY KEY, reader TEXT NOT NULL, captured_at REAL, "
    "camera TEXT, lens TEXT, has_gps INTEGER NOT NULL DEFAULT 0, latitude REAL, longitude REAL, "
    "title TEXT, description TEXT, keywords TEXT, creator TEXT, copyright TEXT, usage_terms TEXT, "
    "rating INTEGER, rights TEXT, fields TEXT, error TEXT, at REAL)",
    "CREATE INDEX {schema}media_meta_captured ON media_meta (captured_at)",
    # Perceptual hashes of each content, to confirm near-duplicates found by embedding distance.
    "CREATE TABLE {schema}perceptual (hash TEXT PRIMARY KEY, method TEXT NOT NULL, value TEXT NOT NULL, "
    "error TEXT, at REAL)",
]
DDL_SAFETY = [
    # Brand-safety verdicts (indexer/safety), by content, stamped in ``policy`` with the policy
    # (name@digest), the checks, the model and the OCR engine that fed them: any change re-judges.
    # ``categories`` / ``contexts``: JSON lists of what was seen; ``reasons``: JSON list of
    # {key, verdict, why, signals}; ``signals``: every raw signal (scores, words, boxes, snippets)
    # so a reviewer sees the evidence and the evaluation can re-decide without re-running checks.
    "CREATE TABLE {schema}safety (hash TEXT PRIMARY KEY, policy TEXT NOT NULL, verdict TEXT "
    "CHECK (verdict IN ('safe', 'review', 'block')), categories TEXT, contexts TEXT, reasons TEXT, "
    "signals TEXT, error TEXT, seconds REAL, at REAL)",
    "CREATE INDEX {schema}safety_verdict ON safety (verdict)",
]

DDL_TAGS = [
    # The model's suggestions (replaced on every re-tag), stored from a low floor up so a lowered
    # threshold needs no re-scoring; ``grp`` is the tag's exclusive group, if any.
    "CREATE TABLE {schema}tag_suggestions (hash TEXT NOT NULL, tag TEXT NOT NULL, confidence REAL NOT NULL, "
    "grp TEXT, model TEXT NOT NULL, at REAL, PRIMARY KEY (hash, tag))",
    "CREATE INDEX {schema}tag_suggestions_tag ON tag_suggestions (tag, confidence)",
    # People's decisions: final, kept across re-tags and model changes. ``confidence`` / ``model``:
    # what the reviewer saw, for calibration.
    "CREATE TABLE {schema}tag_decisions (hash TEXT NOT NULL, tag TEXT NOT NULL, decision TEXT NOT NULL "
    "CHECK (decision IN ('accepted', 'rejected')), reviewer TEXT, confidence REAL, model TEXT, at REAL, "
    "PRIMARY KEY (hash, tag))",
    "CREATE INDEX {schema}tag_decisions_tag ON tag_decisions (tag, decision)",
    # Thresholds are on one model's confidence scale, so they are stored per model.
    "CREATE TABLE {schema}tag_thresholds (model TEXT NOT NULL, tag TEXT NOT NULL, threshold REAL NOT NULL, "
    "source TEXT NOT NULL, precision REAL, recall REAL, decisions INTEGER, at REAL, PRIMARY KEY (model, tag))",
    # Each tag's calibration (centre, spread over the library) per model and taxonomy version.
    "CREATE TABLE {schema}tag_calibration (model TEXT NOT NULL, taxonomy TEXT NOT NULL, tag TEXT NOT NULL, "
    "centre REAL NOT NULL, spread REAL NOT NULL, PRIMARY KEY (model, taxonomy, tag))",
    # Which (model # taxonomy version) scored each content: an unchanged re-run reads one count.
    "CREATE TABLE {schema}tagged (hash TEXT PRIMARY KEY, version TEXT NOT NULL)",
]


def _ddl_migration(statements: list[str]) -> Callable[[sqlite_utils.Database], None]:
    def migrate(db: sqlite_utils.Database) -> None:
        for statement in statements:
            db.execute(statement.format(schema=""))
    migrate.statements = statements  # type: ignore[attr-defined]
    return migrate


def temp_tables(version: int) -> list[str]:
    """DDL creating, in the ``temp`` schema, the tables of every DDL migration after ``version``."""
    return [statement.format(schema="temp.") for migration in MIGRATIONS[version:]
            for statement in getattr(migration, "statements", [])]


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1, _migration_2, _migration_3, _migration_4, _ddl_migration(DDL_5), _ddl_migration(DDL_6),
    _ddl_migration(DDL_SAFETY),
    _ddl_migration(DDL_TAGS),
]
