"""A library folder is only ever a Scout library: foreign databases, files in the way, read-only
media and dead writers are each reported clearly, and nothing that is not Scout's is touched."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess

import pytest

from indexer.catalog import APPLICATION_ID, Catalog
from indexer.errors import LibraryNotFound, LibraryReadOnly
from indexer.library import Library
from search.status import library_status
from tests.conftest import index_folder, write_images


def _foreign_db(path, user_version=0):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
        conn.execute(f"PRAGMA user_version = {user_version}")
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("user_version", [0, 3, 77])
@pytest.mark.parametrize("readonly", [True, False])
def test_another_programs_database_is_refused_untouched(tmp_path, user_version, readonly):
    digest = _foreign_db(tmp_path / "catalog.db", user_version)
    with pytest.raises(LibraryNotFound, match="not a Scout catalog.*invoices.*left untouched"):
        if readonly:
            Library.open(tmp_path, readonly=True)
        else:
            Library.create_or_open(tmp_path)
    assert hashlib.sha256((tmp_path / "catalog.db").read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.db"]  # no -wal, no folders


def test_new_catalogs_are_stamped_and_old_scout_catalogs_still_open(tmp_path):
    Catalog(tmp_path / "catalog.db").close()
    with sqlite3.connect(tmp_path / "catalog.db") as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        conn.execute("PRAGMA application_id = 0")  # as written by Scout before the stamp
    conn.close()
    Catalog(tmp_path / "catalog.db", readonly=True).close()


def test_a_catalog_from_a_newer_scout_is_refused(tmp_path):
    Catalog(tmp_path / "catalog.db").close()
    with sqlite3.connect(tmp_path / "catalog.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(LibraryNotFound, match="newer Scout"):
        Catalog(tmp_path / "catalog.db", readonly=True)


def test_a_file_where_the_library_folder_should_be(tmp_path):
    (tmp_path / "hostname").write_text("box\n")
    for opener in (Library.create_or_open, lambda p: Library.open(p, readonly=True)):
        with pytest.raises(LibraryNotFound, match="is a file, not a library folder"):
            opener(tmp_path / "hostname")


@pytest.fixture
def read_only_mount(tmp_path):
    """A real read-only file system (tmpfs remounted ro); skipped where mounting is not allowed."""
    target = tmp_path / "ro"
    target.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(target)],
                      capture_output=True).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    yield target
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_a_library_on_read_only_media(read_only_mount, tmp_path, tiny_encoder):
    """A WAL catalog copied without its -shm/-wal onto read-only media opens (immutable) and
    searches; indexing into it, or creating a library there, says read-only, not 'restore'."""
    write_images(tmp_path / "assets", 3)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "assets"], tiny_encoder)
    library.close()
    copy = read_only_mount / "lib"
    shutil.copytree(tmp_path / "lib", copy, ignore=shutil.ignore_patterns("*-wal", "*-shm", ".lock"))
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    reader = Library.open(copy, readonly=True)
    assert library_status(reader).assets == 3
    reader.close()
    with pytest.raises(LibraryReadOnly, match="read-only storage"):
        Library.create_or_open(copy)
    with pytest.raises(LibraryReadOnly, match="Cannot create the library folder"):
        Library.create_or_open(read_only_mount / "new-lib")


def test_a_killed_run_reads_interrupted_not_running(tmp_path, tiny_encoder):
    write_images(tmp_path / "assets", 2)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "assets"], tiny_encoder)
    library.catalog.start_run(tiny_encoder.model_id, [str(tmp_path / "assets")])
    dead = subprocess.Popen(["true"])
    dead.wait()
    (library.path / ".lock").write_text(str(dead.pid))
    assert library.catalog.last_run()["status"] == "running"
    assert library_status(library).last_run["status"] == "interrupted"
    (library.path / ".lock").write_text(str(os.getpid()))  # the writer is alive: still running
    assert library.last_run()["status"] == "running"
    library.close()
