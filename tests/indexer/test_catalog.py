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


def _version_1_catalog(path):
    db = sqlite_utils.Database(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.conn.commit()
    db.close()


def test_an_old_library_opened_for_search_is_upgraded_first(tmp_path):
    """`scout search` or `scout serve` may be the first command a new version runs."""
    path = tmp_path / "catalog.db"
    _version_1_catalog(path)
    reader = Catalog(path, readonly=True)
    assert len(reader.removed_since(0)) == 0  # the tombstones table exists
    reader.close()


@pytest.mark.parametrize("readonly", [False, True])
def test_a_file_that_is_not_a_catalog_is_a_clear_error(tmp_path, readonly):
    from indexer.errors import LibraryNotFound

    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LibraryNotFound, match="not a readable Scout catalog"):
        Catalog(path, readonly=readonly)


def test_opening_a_catalog_does_not_import_pandas_and_leaves_it_importable(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from indexer.library import Library; Library.create_or_open(sys.argv[1]).close(); "
            "print('pandas' in sys.modules); import pandas, sqlite_utils; print(pandas.DataFrame({'a': [1]}).shape)")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "lib")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "(1,", "1)"]
