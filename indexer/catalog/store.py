"""The catalog file itself: opened read-only or read-write, never another program's database,
immutable on read-only media; plus the small tables every run touches (meta, roots, runs)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Iterable

from indexer.catalog.sqlite_utils_lean import sqlite_utils

from indexer.catalog.schema import APPLICATION_ID, MIGRATIONS, SCOUT_TABLES, temp_tables
from indexer.errors import DiskFull, LibraryNotFound, LibraryReadOnly


def disk_full(folder: Path) -> DiskFull:
    return DiskFull(f"The disk holding the library {folder} is full.",
                    hint="Free some space and run the same command again: everything committed so far is kept "
                    "and the run resumes where it stopped.")


def _read_only_storage(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False


class CatalogStore:
    """Opening, recognising and migrating the file; meta, roots and runs."""

    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        if readonly and not self.path.exists():
            raise LibraryNotFound(f"No catalog at {self.path}.")
        version, immutable = self._inspect()
        if readonly:
            if version == 0:
                raise LibraryNotFound(f"{self.path} is an empty catalog: nothing was indexed into it.",
                                      hint="Run `scout index FOLDER --library DIR` first.")
            if version < len(MIGRATIONS) and not immutable:
                # A library from an older Scout: upgrade its schema once (migrations are small
                # and transactional), then read it like any other.
                type(self)(self.path).close()
            flags = "mode=ro&immutable=1" if immutable else "mode=ro"
            conn = sqlite3.connect(f"{self.path.absolute().as_uri()}?{flags}", uri=True, check_same_thread=False)
            if immutable and version < 3:  # an old catalog on read-only media: it holds no generated images
                conn.execute("CREATE TEMP TABLE provenance (hash TEXT PRIMARY KEY, brief_id TEXT, generator TEXT, "
                             "model TEXT, created_at REAL, data TEXT)")
            if immutable:  # ... and none of the tables added since: they read as empty
                for statement in temp_tables(version):
                    conn.execute(statement)
        else:
            conn = sqlite3.connect(str(self.path), check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        if not readonly:
            try:
                self.db.enable_wal()
                self.db.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
            except sqlite3.OperationalError as exc:
                conn.close()
                if "full" in str(exc):
                    raise disk_full(self.path.parent) from None
                if "readonly" in str(exc) or _read_only_storage(self.path.parent):
                    raise LibraryReadOnly(
                        f"The library at {self.path.parent} is on read-only storage ({exc}).",
                        hint="Searching works read-only (scout search / serve); to index, copy the "
                        "library folder to writable storage.") from None
                raise self._unreadable(exc) from None
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise self._unreadable(exc) from None

    def _inspect(self) -> tuple[int, bool]:
        """(schema version, open immutable?) of the file, refusing anything not a Scout catalog.

        Looked at read-only, so another program's database is never touched: no WAL switch, no
        tables added. A catalog on read-only media whose WAL index cannot be created is opened
        ``immutable`` (nothing can be writing to it there).
        """
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0, False
        immutable = False
        while True:
            flags = "mode=ro&immutable=1" if immutable else "mode=ro"
            try:
                with closing(sqlite3.connect(f"{self.path.absolute().as_uri()}?{flags}", uri=True)) as conn:
                    version, app_id = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                                       for p in ("user_version", "application_id"))
                    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                break
            except sqlite3.OperationalError as exc:
                if immutable or not _read_only_storage(self.path.parent):
                    raise self._unreadable(exc) from None
                if Path(f"{self.path}-wal").is_file() and Path(f"{self.path}-wal").stat().st_size:
                    raise LibraryNotFound(
                        f"{self.path} is on read-only storage with unfinished writes in its -wal file.",
                        hint="Copy the library to writable storage once (Scout folds the -wal file in), "
                        "or copy it again after the index run that wrote it has finished.") from None
                immutable = True
            except sqlite3.DatabaseError as exc:
                raise self._unreadable(exc) from None
        ours = app_id == APPLICATION_ID or (app_id == 0 and version >= 1 and SCOUT_TABLES <= tables)
        if not ours and (version or app_id or tables):
            listed = ", ".join(sorted(tables)[:6]) or "none"
            raise LibraryNotFound(
                f"{self.path} is not a Scout catalog (SQLite application id {app_id}, schema version "
                f"{version}, tables: {listed}); it belongs to another program and was left untouched.",
                hint="Point --library at a Scout library folder, or at a new folder to create one.")
        if version > len(MIGRATIONS):
            raise LibraryNotFound(
                f"{self.path} was written by a newer Scout (schema {version}; this one knows up to "
                f"{len(MIGRATIONS)}).", hint="Upgrade Scout to open this library.")
        return version, immutable

    def _unreadable(self, exc: sqlite3.DatabaseError) -> LibraryNotFound:
        return LibraryNotFound(
            f"{self.path} is not a readable Scout catalog ({exc}).",
            hint="Point --library at a Scout library folder, or restore catalog.db.",
        )

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.db.atomic():
                migration(self.db)
                self.db.execute(f"PRAGMA user_version = {number}")
        if self.db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, **values: str) -> None:
        with self.db.atomic():
            self.db["meta"].upsert_all(
                [{"key": k, "value": str(v)} for k, v in values.items()], pk="key"
            )

    def data_version(self) -> int:
        """SQLite's count of commits by other connections since this one opened: a reader's
        cheap "has anything changed" (vectors, passes, tags, reviews alike), unlike
        ``generation``, which only vector changes bump."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    @property
    def generation(self) -> int:
        """Bumped by every commit that changes vectors; FAISS files are stamped with it."""
        return int(self.get_meta("generation", "0"))

    # -- roots and runs -----------------------------------------------------------------------

    def add_roots(self, roots: Iterable[str]) -> None:
        with self.db.atomic():
            for root in roots:
                self.db.execute(
                    "INSERT OR IGNORE INTO roots (path, added_at) VALUES (?, ?)", [root, time.time()]
                )

    def roots(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM roots ORDER BY path")]

    def start_run(self, model: str, roots: list[str]) -> int:
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, status, model, roots) VALUES (?, 'running', ?, ?)",
                [time.time(), model, json.dumps(roots)],
            )
        return cursor.lastrowid

    def finish_run(self, run_id: int, status: str, stats: dict) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, stats = ? WHERE id = ?",
                [time.time(), status, json.dumps(stats), run_id],
            )

    def last_run(self) -> dict | None:
        row = self.db.execute(
            "SELECT id, started_at, finished_at, status, model, roots, stats FROM runs "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if not row:
            return None
        keys = ("id", "started_at", "finished_at", "status", "model", "roots", "stats")
        run = dict(zip(keys, row))
        run["roots"] = json.loads(run["roots"] or "[]")
        run["stats"] = json.loads(run["stats"] or "{}")
        return run
