"""kill -9 in the middle of an index run: nothing finished is lost, nothing is corrupt."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np

from indexer.library import Library
from tests.conftest import index_folder, write_images

TOTAL = 160


def _committed(catalog_path) -> int:
    try:
        with sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM assets").fetchone()[0]
    except sqlite3.Error:
        return 0


def _snapshot(library: Library) -> dict[str, tuple[str, np.ndarray]]:
    rows = library.catalog.db.execute(
        "SELECT a.path, a.hash, c.vector FROM assets a JOIN contents c ON c.hash = a.hash").fetchall()
    return {p: (h, np.frombuffer(v, dtype=np.float32)) for p, h, v in rows}


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path, offline_encoder):
    photos = tmp_path / "photos"
    write_images(photos, TOTAL, size=(256, 192))
    victim = tmp_path / "killed-lib"
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "index", str(photos), "--library", str(victim),
         "--model", "offline", "--batch-size", "8", "--commit-every", "8", "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    while _committed(victim / "catalog.db") < 16:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "index run never committed"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    killed = Library.open(victim, readonly=True)
    committed = killed.catalog.asset_count()
    assert 16 <= committed < TOTAL, "the kill must land mid-run for this test to mean anything"
    assert killed.catalog.last_run()["status"] == "running"  # the run never got to finish
    killed.close()

    library, resumed = index_folder(victim, [photos], offline_encoder)
    assert resumed.status == "completed"
    assert resumed.stats.embedded == TOTAL - committed  # finished work was not redone
    assert resumed.stats.unchanged == committed

    reference, _ = index_folder(tmp_path / "clean-lib", [photos], offline_encoder)
    got, want = _snapshot(library), _snapshot(reference)
    assert set(got) == set(want) and len(got) == TOTAL
    for path, (content_hash, vector) in want.items():
        assert got[path][0] == content_hash
        assert np.allclose(got[path][1], vector, atol=1e-4)
    assert library.catalog.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
