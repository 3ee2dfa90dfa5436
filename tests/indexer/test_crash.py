"""kill -9 in the middle of an index run: nothing finished is lost, nothing is corrupt."""

from __future__ import annotations

import sys

from indexer.library import Library
from tests.conftest import index_folder, write_images
from tests.indexer.convergence import assert_same_catalog, kill_after_commits

TOTAL = 160


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path, offline_encoder):
    photos = tmp_path / "photos"
    write_images(photos, TOTAL, size=(256, 192))
    victim = tmp_path / "killed-lib"
    kill_after_commits([sys.executable, "-m", "api.cli", "index", str(photos), "--library", str(victim),
                        "--model", "offline", "--batch-size", "8", "--commit-every", "8", "--workers", "1"],
                       victim, at_least=16, timeout=240)

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
    assert library.catalog.asset_count() == TOTAL
    assert_same_catalog(library, reference)
