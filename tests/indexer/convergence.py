"""What "the library survived" means, for the crash and fault-injection tests.

After any fault the library must open, search must answer, and an ordinary re-run must end with
exactly the catalog a clean run of the same folder gives: the same (path, content hash) pairs,
the same vectors, an intact SQLite file and a FAISS snapshot that finds the same things.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np

from indexer.errors import LibraryNotFound
from indexer.library import Library
from search.engine import Searcher
from search.query import Query, parse_text

PROBE = "a colourful picture"


def committed_assets(catalog_path: Path) -> int:
    """Assets a concurrent writer has committed so far (0 while there is no readable catalog)."""
    try:
        with sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM assets").fetchone()[0]
    except sqlite3.Error:
        return 0


def kill_after_commits(command: list[str], library_dir: Path, at_least: int, timeout: float) -> None:
    """Run ``command`` (a ``scout index`` into ``library_dir``) and ``kill -9`` it as soon as it has
    committed ``at_least`` assets; fails if it exits or takes longer than ``timeout`` before that."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while committed_assets(library_dir / "catalog.db") < at_least:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the index run never committed"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def catalog_snapshot(library: Library) -> dict[str, tuple[str, np.ndarray]]:
    rows = library.catalog.db.execute(
        "SELECT a.path, a.hash, c.vector FROM assets a JOIN contents c ON c.hash = a.hash").fetchall()
    return {p: (h, np.frombuffer(v, dtype=np.float32)) for p, h, v in rows}


def ranked_paths(library_dir: Path, encoder, limit: int = 10) -> list[str]:
    """What a user sees: the top results of a fixed query, through the FAISS snapshot."""
    library = Library.open(library_dir, readonly=True)
    try:
        result = Searcher(library, encoder).search(Query(parts=parse_text(PROBE), limit=limit, include_all=True))
        return [hit.asset.path for hit in result.hits]
    finally:
        library.close()


def assert_opens_and_answers(library_dir: Path, encoder) -> int:
    """The library opens read-only and search answers; returns how many assets it holds. A run
    killed before it created its catalog leaves no library, which must be *said* (LibraryNotFound)."""
    try:
        library = Library.open(library_dir, readonly=True)
    except LibraryNotFound:
        return 0
    try:
        count = library.catalog.asset_count()
        assert library.catalog.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    finally:
        library.close()
    if count:
        assert ranked_paths(library_dir, encoder, limit=3), "search found nothing in a non-empty library"
    return count


def assert_same_catalog(library: Library, reference: Library, encoder=None) -> None:
    got, want = catalog_snapshot(library), catalog_snapshot(reference)
    assert set(got) == set(want), (sorted(set(got) ^ set(want)))[:5]
    for path, (content_hash, vector) in want.items():
        assert got[path][0] == content_hash, path
        assert np.allclose(got[path][1], vector, atol=1e-4), path
    assert library.catalog.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert library.catalog.failure_count() == reference.catalog.failure_count()
    if encoder is not None:
        assert ranked_paths(library.path, encoder) == ranked_paths(reference.path, encoder)
