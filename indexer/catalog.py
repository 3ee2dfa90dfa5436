"""The SQLite catalog: what files exist, what they contain, what failed, and every run.

Layout (see ``MIGRATIONS``):

* ``contents``: one row per distinct file content (SHA-256 hash, first 128 bits) with pixel size, format and the
  embedding. Keying vectors by content is what makes renames, moves and duplicates free: a file
  whose bytes are already known reuses the stored vector without decoding.
* ``assets``: one row per file path, pointing at its content. The asset id is the FAISS id.
* ``failures`` / ``ignored``: files that could not be indexed (with a reason and a hint), and
  files that are not images at all; both keep size + mtime so unchanged ones are not retried.
* ``runs``: one row per index run, for ``scout status``.
* ``provenance``: how a generated content was made (prompt, seed, model, brief...), by hash.
* ``meta``: key/value settings, the model id above all.

Every write goes through :meth:`Catalog.commit_batch` or another single transaction, and the
database runs in WAL mode, so a reader (the search server) never sees half a batch and a killed
writer never leaves the catalog unreadable.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import sqlite_utils

from indexer.errors import LibraryNotFound, LibraryReadOnly

# PRAGMA application_id of every Scout catalog ("SCOT"): how Scout tells its own file from
# another program's SQLite database before touching it. Catalogs from before it was set are
# recognised by their tables.
APPLICATION_ID = 0x53434F54
_SCOUT_TABLES = frozenset({"meta", "roots", "contents", "assets", "runs"})


def _read_only_storage(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False

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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2, _migration_3, _migration_4]

# "This asset's content was generated", as a clause over assets ``a``: used for the generated flag
# of every AssetRow and by the search filter, so both read the same table the same way.
GENERATED_CLAUSE = "EXISTS (SELECT 1 FROM provenance p WHERE p.hash = a.hash)"


# What the catalog remembers of a path, enough to decide "unchanged" from a stat alone:
# (size, mtime_ns, kind) with kind "asset" | "failure" | "ignored". A plain tuple because a
# re-run builds one per file, and 100 000 of anything fancier costs a visible fraction of a second.
KnownFile = tuple[int, int, str]


@dataclass(frozen=True)
class ContentWrite:
    hash: str
    format: str
    width: int
    height: int
    mode: str
    vector: np.ndarray
    thumbnail: str | None


@dataclass(frozen=True)
class FileWrite:
    """A file as scanned: where it is and the stat that identifies this version of it."""

    path: str
    root: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FailureWrite:
    file: FileWrite
    reason: str
    message: str
    hint: str | None


@dataclass
class Batch:
    """Everything one commit writes. Contents go first so an asset never points at nothing."""

    contents: list[ContentWrite] = field(default_factory=list)
    assets: list[tuple[FileWrite, str]] = field(default_factory=list)
    failures: list[FailureWrite] = field(default_factory=list)
    ignored: list[FileWrite] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.contents) + len(self.assets) + len(self.failures) + len(self.ignored)


@dataclass(frozen=True)
class AssetRow:
    id: int
    path: str
    root: str
    folder: str
    name: str
    size: int
    mtime_ns: int
    hash: str
    format: str
    width: int
    height: int
    thumbnail: str | None
    indexed_at: float
    generated: bool = False  # made by a generator (has provenance), not a photo from the library

    def __post_init__(self) -> None:
        object.__setattr__(self, "generated", bool(self.generated))  # SQLite hands back 0 / 1

    @property
    def orientation(self) -> str:
        """landscape / portrait / square, with 5 % slack so 1000x990 still counts as square."""
        if self.width > self.height * 1.05:
            return "landscape"
        if self.height > self.width * 1.05:
            return "portrait"
        return "square"


@dataclass(frozen=True)
class FailureRow:
    path: str
    reason: str
    message: str
    hint: str | None
    at: float


_ASSET_COLUMNS = (
    "a.id, a.path, a.root, a.folder, a.name, a.size, a.mtime_ns, a.hash, "
    "c.format, c.width, c.height, c.thumbnail, a.indexed_at, "
    f"{GENERATED_CLAUSE}"
)


class Catalog:
    """All SQL in Scout lives here."""

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
                Catalog(self.path).close()
            flags = "mode=ro&immutable=1" if immutable else "mode=ro"
            conn = sqlite3.connect(f"{self.path.absolute().as_uri()}?{flags}", uri=True, check_same_thread=False)
            if immutable and version < 3:  # an old catalog on read-only media: it holds no generated images
                conn.execute("CREATE TEMP TABLE provenance (hash TEXT PRIMARY KEY, brief_id TEXT, generator TEXT, "
                             "model TEXT, created_at REAL, data TEXT)")
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
        ours = app_id == APPLICATION_ID or (app_id == 0 and version >= 1 and _SCOUT_TABLES <= tables)
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

    # -- the index run's view -----------------------------------------------------------------

    def known_files(self, root: str) -> dict[str, KnownFile]:
        """Every path under ``root`` the catalog knows, for stat-only change detection."""
        known: dict[str, KnownFile] = {}
        for kind, table in (("asset", "assets"), ("failure", "failures"), ("ignored", "ignored")):
            cursor = self.db.execute(f"SELECT path, size, mtime_ns, ? FROM {table} WHERE root = ?", [kind, root])
            known.update((path, (size, mtime_ns, k)) for path, size, mtime_ns, k in cursor)
        return known

    def embedded_hashes(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT hash FROM contents WHERE vector IS NOT NULL")}

    def commit_batch(self, batch: Batch) -> int:
        """Write one batch in a single transaction; returns the new generation."""
        now = time.time()
        with self.db.atomic():
            gen = self._bump_generation()
            self.db.conn.executemany(
                "INSERT INTO contents (hash, format, width, height, mode, vector, thumbnail, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(hash) DO UPDATE SET "
                "vector = excluded.vector, thumbnail = coalesce(excluded.thumbnail, thumbnail)",
                [
                    (
                        c.hash, c.format, c.width, c.height, c.mode,
                        np.ascontiguousarray(c.vector, dtype=np.float32).tobytes(),
                        c.thumbnail, now,
                    )
                    for c in batch.contents
                ],
            )
            self.db.conn.executemany(
                "INSERT INTO assets (path, root, folder, name, size, mtime_ns, hash, gen, "
                "indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                "root = excluded.root, size = excluded.size, mtime_ns = excluded.mtime_ns, "
                "hash = excluded.hash, gen = excluded.gen, indexed_at = excluded.indexed_at",
                [
                    (
                        f.path, f.root, str(Path(f.path).parent), Path(f.path).name,
                        f.size, f.mtime_ns, content_hash, gen, now,
                    )
                    for f, content_hash in batch.assets
                ],
            )
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO failures (path, root, size, mtime_ns, at, reason, "
                "message, hint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (x.file.path, x.file.root, x.file.size, x.file.mtime_ns, now,
                     x.reason, x.message, x.hint)
                    for x in batch.failures
                ],
            )
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO ignored (path, root, size, mtime_ns, at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(f.path, f.root, f.size, f.mtime_ns, now) for f in batch.ignored],
            )
            # A path lives in exactly one of assets / failures / ignored.
            for table, files in (
                ("failures", [f.path for f, _ in batch.assets] + [f.path for f in batch.ignored]),
                ("ignored", [f.path for f, _ in batch.assets] + [x.file.path for x in batch.failures]),
                ("assets", [x.file.path for x in batch.failures] + [f.path for f in batch.ignored]),
            ):
                self.db.conn.executemany(
                    f"DELETE FROM {table} WHERE path = ?", [(p,) for p in files]
                )
        return gen

    def _bump_generation(self) -> int:
        """Inside a write transaction: the next generation, recorded; FAISS files carry it."""
        gen = self.generation + 1
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)", [str(gen)])
        return gen

    def forget(self, paths: Iterable[str]) -> int:
        """Remove files that are gone from disk; returns how many were assets.

        Removed asset ids become tombstones so FAISS snapshots can drop them without a rebuild.
        """
        gone = [(p,) for p in paths]
        if not gone:
            return 0
        with self.db.atomic():
            for table in ("failures", "ignored"):
                self.db.conn.executemany(f"DELETE FROM {table} WHERE path = ?", gone)
            ids = [row for (p,) in gone for row in self.db.execute("SELECT id FROM assets WHERE path = ?", [p])]
            if ids:
                gen = self._bump_generation()
                self.db.conn.executemany("DELETE FROM assets WHERE id = ?", ids)
                self.db.conn.executemany("INSERT OR REPLACE INTO tombstones (id, gen) VALUES (?, ?)",
                                         [(i, gen) for (i,) in ids])
        return len(ids)

    def removed_since(self, gen: int) -> np.ndarray:
        """Ids of assets removed after generation ``gen`` (to drop from an older FAISS snapshot)."""
        rows = self.db.execute("SELECT id FROM tombstones WHERE gen > ?", [gen]).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def clear_vectors(self) -> None:
        """Drop every embedding (before re-embedding with another model); files stay known."""
        with self.db.atomic():
            self.db.execute("UPDATE contents SET vector = NULL")
            self.db.execute("UPDATE assets SET size = -1")
            self._bump_generation()

    # -- the searcher's view ------------------------------------------------------------------

    def iter_vectors(self, since_gen: int = 0, chunk: int = 50_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (asset ids, vectors) for assets written after ``since_gen``, in chunks."""
        cursor = self.db.execute(
            "SELECT a.id, c.vector FROM assets a JOIN contents c ON c.hash = a.hash "
            "WHERE a.gen > ? AND c.vector IS NOT NULL ORDER BY a.id",
            [since_gen],
        )
        while rows := cursor.fetchmany(chunk):
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            yield ids, vectors

    def sample_vectors(self, limit: int) -> np.ndarray:
        """A deterministic spread of up to ``limit`` vectors, for per-query score calibration."""
        count = self.asset_count()
        step = max(1, count // limit)
        rows = self.db.execute(
            "SELECT c.vector FROM assets a JOIN contents c ON c.hash = a.hash "
            "WHERE c.vector IS NOT NULL AND a.id % ? = 0 LIMIT ?",
            [step, limit],
        ).fetchall()
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([np.frombuffer(r[0], dtype=np.float32) for r in rows])

    def vector_for_asset(self, asset_id: int) -> np.ndarray | None:
        row = self.db.execute(
            "SELECT c.vector FROM assets a JOIN contents c ON c.hash = a.hash WHERE a.id = ?",
            [asset_id],
        ).fetchone()
        return None if not row or row[0] is None else np.frombuffer(row[0], dtype=np.float32)

    def vectors_for_ids(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, their vectors as rows) for the given asset ids."""
        found, rows = [], []
        for start in range(0, len(ids), 900):
            part = [int(i) for i in ids[start : start + 900]]
            for asset_id, blob in self.db.execute(
                "SELECT a.id, c.vector FROM assets a JOIN contents c ON c.hash = a.hash "
                f"WHERE c.vector IS NOT NULL AND a.id IN ({','.join('?' * len(part))})", part
            ):
                found.append(asset_id)
                rows.append(np.frombuffer(blob, dtype=np.float32))
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.asarray(found, dtype=np.int64), np.vstack(rows)

    def assets_by_ids(self, ids: Iterable[int]) -> dict[int, AssetRow]:
        ids = list(ids)
        found: dict[int, AssetRow] = {}
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                f"SELECT {_ASSET_COLUMNS} FROM assets a JOIN contents c ON c.hash = a.hash "
                f"WHERE a.id IN ({marks})",
                part,
            ):
                found[row[0]] = AssetRow(*row)
        return found

    def asset(self, asset_id: int) -> AssetRow | None:
        return self.assets_by_ids([asset_id]).get(asset_id)

    def asset_by_path(self, path: str) -> AssetRow | None:
        row = self.db.execute(
            f"SELECT {_ASSET_COLUMNS} FROM assets a JOIN contents c ON c.hash = a.hash "
            "WHERE a.path = ?",
            [path],
        ).fetchone()
        return AssetRow(*row) if row else None

    def matching_ids(self, where: str, params: list) -> np.ndarray:
        """Asset ids passing a filter clause built by ``search.query`` (columns of AssetRow)."""
        rows = self.db.execute(
            f"SELECT a.id FROM assets a JOIN contents c ON c.hash = a.hash WHERE {where}", params
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def asset_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM assets").fetchone()[0]

    def failure_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM failures").fetchone()[0]

    def failures(self) -> list[FailureRow]:
        return [
            FailureRow(*row)
            for row in self.db.execute(
                "SELECT path, reason, message, hint, at FROM failures ORDER BY path"
            )
        ]

    def folders(self, limit: int = 2000) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT folder FROM assets ORDER BY folder LIMIT ?", [limit])]

    def formats(self) -> dict[str, int]:
        return dict(
            self.db.execute(
                "SELECT c.format, count(*) FROM assets a JOIN contents c ON c.hash = a.hash "
                "GROUP BY c.format ORDER BY 2 DESC"
            ).fetchall()
        )

    # -- generated images ---------------------------------------------------------------------

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

    # -- review panel -------------------------------------------------------------------------

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
