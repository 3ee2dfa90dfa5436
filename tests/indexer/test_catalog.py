"""The catalog's numbered migrations upgrade an existing library in place."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from indexer.catalog import MIGRATIONS, Catalog


def test_a_version_1_library_is_upgraded_without_losing_rows(tmp_path):
    path = tmp_path / "catalog.db"
    db = sqlite_utils.Database(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db["meta"].insert({"key": "model", "value": "offline:x"})
    db.conn.commit()
    db.close()

    catalog = Catalog(path)
    assert catalog.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert "tombstones" in catalog.db.table_names()
    assert catalog.get_meta("model") == "offline:x"
    catalog.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_readonly_catalog_cannot_write(tmp_path):
    Catalog(tmp_path / "catalog.db").close()
    reader = Catalog(tmp_path / "catalog.db", readonly=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.set_meta(model="x")
