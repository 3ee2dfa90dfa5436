"""Assets, contents, failures and vectors: the index run's writes and the searcher's reads."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from indexer.catalog.store import disk_full
from indexer.catalog.rows import ASSET_COLUMNS, AssetRow, Batch, FailureRow, KnownFile


class AssetTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""

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
        """Write one batch in a single transaction; returns the new generation. A full disk rolls
        the batch back and says so (the run can resume once there is space)."""
        try:
            return self._commit_batch(batch)
        except sqlite3.OperationalError as exc:
            if "full" in str(exc):
                raise disk_full(self.path.parent) from None
            raise

    def _commit_batch(self, batch: Batch) -> int:
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
            leaving = [x.file.path for x in batch.failures] + [f.path for f in batch.ignored]
            self._drop_words([i for p in leaving
                              for (i,) in self.db.execute("SELECT id FROM assets WHERE path = ?", [p])])
            for table, files in (
                ("failures", [f.path for f, _ in batch.assets] + [f.path for f in batch.ignored]),
                ("ignored", [f.path for f, _ in batch.assets] + [x.file.path for x in batch.failures]),
                ("assets", [x.file.path for x in batch.failures] + [f.path for f in batch.ignored]),
            ):
                self.db.conn.executemany(
                    f"DELETE FROM {table} WHERE path = ?", [(p,) for p in files]
                )
            self._words_for_paths([f.path for f, _ in batch.assets])
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
                self._drop_words([i for (i,) in ids])
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
        """A deterministic spread of up to ``limit`` vectors over the whole library, for per-query
        score calibration and IVF training: ``limit`` ids evenly spaced from the first to the
        last, read by primary key (a scan of the assets table is what a searcher would otherwise
        pay before its first query). When deletions have left under 90 % of those ids, the ids
        that exist are listed and evenly spaced instead."""
        top = self.db.execute("SELECT max(id) FROM assets").fetchone()[0] or 0
        wanted = _evenly(top, limit) + 1
        _, rows = self.vectors_for_ids(wanted)
        if len(rows) < 0.9 * len(wanted):
            ids = np.fromiter((r[0] for r in self.db.execute("SELECT id FROM assets ORDER BY id")), dtype=np.int64)
            _, rows = self.vectors_for_ids(ids[_evenly(len(ids), limit)])
        return rows

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
                f"SELECT {ASSET_COLUMNS} FROM assets a JOIN contents c ON c.hash = a.hash "
                f"WHERE a.id IN ({marks})",
                part,
            ):
                found[row[0]] = AssetRow(*row)
        return found

    def asset(self, asset_id: int) -> AssetRow | None:
        return self.assets_by_ids([asset_id]).get(asset_id)

    def asset_by_path(self, path: str) -> AssetRow | None:
        row = self.db.execute(
            f"SELECT {ASSET_COLUMNS} FROM assets a JOIN contents c ON c.hash = a.hash "
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

    def vector_width(self) -> int | None:
        """Dimensions of the stored vectors (None while there are none). The vectors themselves
        are the truth for a FAISS build: the ``dim`` meta is only what the last run declared."""
        row = self.db.execute("SELECT length(vector) FROM contents WHERE vector IS NOT NULL LIMIT 1").fetchone()
        return None if row is None else row[0] // np.dtype(np.float32).itemsize

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


def _evenly(count: int, limit: int) -> np.ndarray:
    """Up to ``limit`` positions in ``range(count)``, evenly spaced from the first to the last."""
    return np.unique(np.linspace(0, count - 1, min(limit, count)).round().astype(np.int64))
