"""Fault injection: kill -9 anywhere, files that change or vanish under the reader, unreadable
files, a root that disappears, a full disk.

Each test ends the same way (tests/indexer/convergence.py): the library opens, search answers,
and an ordinary re-run converges to the catalog of a clean run over the same folder.

Index runs that must be killed, or must run as another user, run in a *forked* child of the test
process: it inherits the loaded model, so a kill point costs a fraction of a second instead of a
fresh interpreter and model load, and what dies is a real process holding the real writer lock.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import traceback
from pathlib import Path

import pytest

import indexer.prepare as prepare
from indexer.errors import ScoutError
from indexer.library import Library
from indexer.pipeline import IndexRun, content_hash
from indexer.settings import IndexSettings
from tests.conftest import index_folder, pattern_image, write_images
from tests.indexer.convergence import assert_opens_and_answers, assert_same_catalog

COUNT = 24
SMALL_BATCHES = {"batch_size": 4, "commit_every": 4, "decode_workers": 1}
KILL_POINTS = 10
SEED = 20261130


def _index_in_child(library_dir: Path, roots: list[Path], encoder, *, user: int | None = None) -> int:
    """Fork; the child runs one index run (optionally as another uid) and exits. Returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        import torch

        torch.set_num_threads(1)  # no OpenMP pool inherited across fork
        if user is not None:
            os.setgroups([])
            os.setgid(user)
            os.setuid(user)
        library = Library.create_or_open(library_dir)
        IndexRun(library, encoder, IndexSettings(**SMALL_BATCHES)).run(roots)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _wait(pid: int, timeout: float = 300) -> int:
    """The child's exit status (negative: killed by that signal)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"index run in child {pid} did not finish in {timeout} s")
        time.sleep(0.005)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fault-photos") / "photos"
    write_images(folder, COUNT // 2, size=(96, 72))
    write_images(folder / "sub", COUNT - COUNT // 2, start=COUNT // 2, size=(72, 96), fmt="JPEG")
    return folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory, photos, offline_encoder) -> Library:
    library, result = index_folder(tmp_path_factory.mktemp("clean") / "lib", [photos], offline_encoder,
                                   **SMALL_BATCHES)
    assert result.status == "completed" and library.catalog.asset_count() == COUNT
    return library


@pytest.mark.slow
def test_kill_9_at_many_random_points_then_resume_converges(tmp_path, photos, clean, offline_encoder):
    durations = []
    for attempt in range(2):  # the first run may also fill caches (class vectors): time a warm one
        started = time.monotonic()
        assert _wait(_index_in_child(tmp_path / f"timed-{attempt}", [photos], offline_encoder)) == 0
        durations.append(time.monotonic() - started)
    duration = min(durations)  # a whole run, as a child, on this machine now

    rng = random.Random(SEED)
    kills, mid_run = 0, 0
    for point in range(2 * KILL_POINTS):  # until KILL_POINTS kills landed mid-run, on a busy machine too
        if kills >= KILL_POINTS:
            break
        victim = tmp_path / f"victim-{point}"
        pid = _index_in_child(victim, [photos], offline_encoder)
        time.sleep(rng.uniform(0.0, 0.8) * duration)
        os.kill(pid, signal.SIGKILL)
        status = _wait(pid)
        assert status in (0, -signal.SIGKILL), f"the run failed on its own (exit {status})"
        kills += status == -signal.SIGKILL

        committed = assert_opens_and_answers(victim, offline_encoder)
        mid_run += 0 < committed < COUNT
        library, resumed = index_folder(victim, [photos], offline_encoder, **SMALL_BATCHES)
        assert resumed.status == "completed"
        assert resumed.stats.unchanged >= committed  # committed work is never redone
        assert_same_catalog(library, clean, offline_encoder if point % 4 == 0 else None)
        library.close()
    assert kills >= KILL_POINTS, f"only {kills} kills landed before the run finished in {point + 1} tries"
    assert mid_run >= 3, f"only {mid_run} kills landed between the first and the last commit"


def _with_fault_before_read(monkeypatch, fault):
    """Run ``fault(path, call_number)`` just before the indexer opens each changed file."""
    real = prepare.read_and_hash
    calls = []

    def read_and_hash(path: str, size: int):
        calls.append(path)
        fault(path, len(calls))
        return real(path, size)

    monkeypatch.setattr(prepare, "read_and_hash", read_and_hash)
    return calls


def _library_copy(tmp_path: Path, photos: Path) -> Path:
    copy = tmp_path / "photos"
    shutil.copytree(photos, copy)
    return copy


def test_a_file_rewritten_between_scan_and_read_is_picked_up_by_the_next_run(
        tmp_path, photos, offline_encoder, monkeypatch):
    folder = _library_copy(tmp_path, photos)
    target = folder / "img-0003.png"
    replacement = tmp_path / "replacement.png"
    pattern_image(999, (200, 150)).save(replacement)

    def rewrite(path: str, _):
        if path == str(target):
            shutil.copyfile(replacement, target)  # new size, new mtime, new content

    _with_fault_before_read(monkeypatch, rewrite)
    library, result = index_folder(tmp_path / "lib", [folder], offline_encoder, **SMALL_BATCHES)
    assert result.status == "completed"
    row = library.catalog.asset_by_path(str(target))
    assert row.hash == content_hash(replacement.read_bytes()), "the content read is the content recorded"
    assert row.size != target.stat().st_size, "the scan's stat was recorded, so the next run must look again"
    library.close()
    monkeypatch.undo()

    assert assert_opens_and_answers(tmp_path / "lib", offline_encoder) == COUNT
    library, rerun = index_folder(tmp_path / "lib", [folder], offline_encoder, **SMALL_BATCHES)
    assert rerun.stats.unchanged == COUNT - 1 and rerun.stats.reused == 1
    reference, _ = index_folder(tmp_path / "clean", [folder], offline_encoder, **SMALL_BATCHES)
    assert_same_catalog(library, reference, offline_encoder)


def test_a_file_truncated_while_it_is_read_fails_once_then_converges(tmp_path, photos, offline_encoder, monkeypatch):
    folder = _library_copy(tmp_path, photos)
    target = folder / "sub" / "img-0015.jpeg"
    whole = target.read_bytes()

    def cut(path: str, _):
        if path == str(target):
            target.write_bytes(whole[: len(whole) // 2])  # a copy still in progress

    _with_fault_before_read(monkeypatch, cut)
    library, result = index_folder(tmp_path / "lib", [folder], offline_encoder, **SMALL_BATCHES)
    assert result.status == "completed" and result.stats.failed == 1
    assert [f.reason for f in library.catalog.failures()] == ["truncated"]
    library.close()
    monkeypatch.undo()
    target.write_bytes(whole)  # the copy finishes

    assert assert_opens_and_answers(tmp_path / "lib", offline_encoder) == COUNT - 1
    library, _ = index_folder(tmp_path / "lib", [folder], offline_encoder, **SMALL_BATCHES)
    reference, _ = index_folder(tmp_path / "clean", [folder], offline_encoder, **SMALL_BATCHES)
    assert_same_catalog(library, reference, offline_encoder)


def test_a_file_deleted_between_scan_and_read_is_gone_after_the_next_run(tmp_path, photos, offline_encoder,
                                                                          monkeypatch):
    folder = _library_copy(tmp_path, photos)
    target = folder / "img-0011.png"

    def delete(path: str, _):
        if path == str(target):
            target.unlink()

    _with_fault_before_read(monkeypatch, delete)
    library, result = index_folder(tmp_path / "lib", [folder], offline_encoder, **SMALL_BATCHES)
    assert result.status == "completed"
    assert [f.reason for f in library.catalog.failures()] == ["unreadable"]
    library.close()
    monkeypatch.undo()

    assert assert_opens_and_answers(tmp_path / "lib", offline_encoder) == COUNT - 1
    library, rerun = index_folder(tmp_path / "lib", [folder], offline_encoder, **SMALL_BATCHES)
    assert rerun.stats.found == COUNT - 1
    reference, _ = index_folder(tmp_path / "clean", [folder], offline_encoder, **SMALL_BATCHES)
    assert_same_catalog(library, reference, offline_encoder)


def test_a_file_nobody_may_read_is_reported_and_indexed_once_readable(photos, offline_encoder):
    """Root reads every file whatever its mode, so the run is made as an unprivileged user."""
    if os.getuid() != 0:
        pytest.skip("needs root to run the index as an unprivileged user (a non-root run cannot "
                    "give the file back)")
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        base.chmod(0o755)
        folder = _library_copy(base, photos)
        target = folder / "sub" / "img-0020.jpeg"
        target.chmod(0o000)
        (base / "lib").mkdir()
        subprocess.run(["chown", "-R", "nobody", str(base / "lib")], check=True)

        nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True, check=True).stdout)
        assert _wait(_index_in_child(base / "lib", [folder], offline_encoder, user=nobody)) == 0
        library = Library.open(base / "lib", readonly=True)
        failures = library.catalog.failures()
        library.close()
        assert [(f.reason, "ermission" in f.message) for f in failures] == [("unreadable", True)]
        assert assert_opens_and_answers(base / "lib", offline_encoder) == COUNT - 1

        target.chmod(0o644)  # the user fixes the permissions (the file's mtime does not change)
        library, rerun = index_folder(base / "lib", [folder], offline_encoder, **SMALL_BATCHES)
        assert rerun.stats.embedded == 1
        reference, _ = index_folder(base / "clean", [folder], offline_encoder, **SMALL_BATCHES)
        assert_same_catalog(library, reference, offline_encoder)


def test_a_root_that_disappears_mid_run_loses_nothing_and_converges(tmp_path, photos, offline_encoder, monkeypatch):
    """An unmounted drive is not a deleted shoot: what was indexed from it stays searchable."""
    folder = _library_copy(tmp_path, photos)
    library, _ = index_folder(tmp_path / "lib", [folder], offline_encoder, **SMALL_BATCHES)
    library.close()
    for n, path in enumerate(sorted(folder.glob("*.png"))[:6]):  # some work for the next run
        pattern_image(500 + n, (96, 72)).save(path)
    away = tmp_path / "unmounted"

    def unmount(path: str, call: int):
        if call == 3:
            folder.rename(away)

    _with_fault_before_read(monkeypatch, unmount)
    library = Library.open(tmp_path / "lib")
    with pytest.raises(ScoutError, match="disappeared"):
        IndexRun(library, offline_encoder, IndexSettings(**SMALL_BATCHES)).run([folder])
    assert library.catalog.asset_count() == COUNT, "assets under a vanished root were dropped"
    assert library.catalog.failure_count() == 0
    assert library.last_run()["status"] == "interrupted"
    library.close()
    monkeypatch.undo()

    assert assert_opens_and_answers(tmp_path / "lib", offline_encoder) == COUNT
    away.rename(folder)  # the drive is back
    library, _ = index_folder(tmp_path / "lib", [folder], offline_encoder, **SMALL_BATCHES)
    reference, _ = index_folder(tmp_path / "clean", [folder], offline_encoder, **SMALL_BATCHES)
    assert_same_catalog(library, reference, offline_encoder)


class _FullDisk:
    """A library on a small tmpfs, filled with a ballast file until ``headroom_kb`` are left: the
    catalog gets created, and the disk fills a few commits into the run. Where mounting is not
    allowed, ENOSPC is simulated at the catalog's write path instead."""

    def __init__(self, folder: Path, headroom_kb: int, monkeypatch):
        self.folder = folder
        self.library = folder / "lib"
        self._monkeypatch = monkeypatch
        folder.mkdir()
        self.real = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
                                   capture_output=True).returncode == 0
        Library.create_or_open(self.library).close()
        if self.real:
            space = os.statvfs(folder)
            (folder / "ballast").write_bytes(b"\0" * (space.f_bavail * space.f_frsize - headroom_kb * 1024))
        else:
            from indexer.catalog import Catalog

            commit, calls = Catalog.commit_batch, []

            def commit_until_full(catalog, batch):
                calls.append(1)
                if len(calls) > 2:
                    raise sqlite3.OperationalError("database or disk is full")
                return commit(catalog, batch)

            monkeypatch.setattr(Catalog, "commit_batch", commit_until_full)

    def free(self) -> None:
        """What a user does: delete something big."""
        if self.real:
            (self.folder / "ballast").unlink()
        else:
            self._monkeypatch.undo()

    def unmount(self) -> None:
        if self.real:
            subprocess.run(["umount", "-l", str(self.folder)], check=False)


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    disk = _FullDisk(tmp_path / "disk", 160, monkeypatch)
    try:
        yield disk
    finally:
        disk.unmount()


def test_a_full_disk_stops_the_run_and_a_rerun_with_space_converges(photos, clean, offline_encoder, full_disk):
    with pytest.raises(ScoutError):
        index_folder(full_disk.library, [photos], offline_encoder, **SMALL_BATCHES)
    committed = assert_opens_and_answers(full_disk.library, offline_encoder)
    assert committed < COUNT

    full_disk.free()
    library, rerun = index_folder(full_disk.library, [photos], offline_encoder, **SMALL_BATCHES)
    assert rerun.status == "completed" and rerun.stats.unchanged >= committed
    assert not list(full_disk.library.rglob("*.tmp")), "half-written files left behind"
    assert_same_catalog(library, clean, offline_encoder)
    library.close()


def test_a_full_disk_is_reported_as_a_scout_error(photos, offline_encoder, full_disk):
    if not full_disk.real:
        pytest.skip("cannot mount a small tmpfs here; the simulated ENOSPC stands in for the catalog itself")
    with pytest.raises(ScoutError, match="(?i)space|full"):
        index_folder(full_disk.library, [photos], offline_encoder, **SMALL_BATCHES)
