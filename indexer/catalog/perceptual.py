"""Perceptual hashes (``perceptual``) and the reads duplicate detection makes: which contents sit
at several paths, one vector per content, and the assets holding given contents."""

from __future__ import annotations

import time
from typing import Iterable, Iterator

import numpy as np

from indexer.catalog.rows import ASSET_COLUMNS, AssetRow

_STEP = 900


class PerceptualTables:
    """Mixed into :class:`~indexer.catalog.Catalog`; uses its ``db`` connection."""

    def write_perceptual(self, method: str, rows: Iterable[tuple[str, str | None, str | None]]) -> None:
        """Store (content hash, hex value or None, error) in one transaction; a failure keeps an
        empty value and its error, so it is not retried until the method changes."""
        now = time.time()
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO perceptual (hash, method, value, error, at) VALUES (?, ?, ?, ?, ?)",
                [(content_hash, method, value or "", error, now) for content_hash, value, error in rows])

    def perceptual_values(self, method: str) -> dict[str, int]:
        """Every content's perceptual hash made by ``method``, as an integer."""
        return {content_hash: int(value, 16) for content_hash, value in self.db.execute(
            "SELECT hash, value FROM perceptual WHERE method = ? AND value != ''", [method])}

    def shared_contents(self) -> list[str]:
        """Contents held by more than one path (exact duplicates), in hash order."""
        return [r[0] for r in self.db.execute(
            "SELECT hash FROM assets GROUP BY hash HAVING count(*) > 1 ORDER BY hash")]

    def content_vectors(self, chunk: int = 20_000) -> Iterator[tuple[list[str], np.ndarray]]:
        """(hashes, vectors as rows) of every embedded content that some asset holds, in chunks."""
        cursor = self.db.execute(
            "SELECT c.hash, c.vector FROM contents c WHERE c.vector IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM assets a WHERE a.hash = c.hash) ORDER BY c.hash")
        while rows := cursor.fetchmany(chunk):
            yield [r[0] for r in rows], np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def assets_for_hashes(self, hashes: Iterable[str]) -> dict[str, list[AssetRow]]:
        """The assets holding each content, in path order."""
        hashes, found = list(dict.fromkeys(hashes)), {}
        for start in range(0, len(hashes), _STEP):
            part = hashes[start : start + _STEP]
            for row in self.db.execute(
                f"SELECT {ASSET_COLUMNS} FROM assets a JOIN contents c ON c.hash = a.hash "
                f"WHERE a.hash IN ({','.join('?' * len(part))}) ORDER BY a.path", part,
            ):
                asset = AssetRow(*row)
                found.setdefault(asset.hash, []).append(asset)
        return found
