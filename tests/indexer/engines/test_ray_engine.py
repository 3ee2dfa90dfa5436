"""The Ray engine on a real local Ray cluster (2 CPUs, one for the whole module): the same catalog
as a local run, and a worker or a driver killed mid-run loses nothing after a re-run."""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import psutil
import pytest

from indexer.engines import load_engine
from indexer.engines.ray_engine import SortedHashes, watch_head
from indexer.errors import ComponentUnavailable, ConfigError
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import EncoderOptions, EngineSettings, IndexSettings
from tests.conftest import write_images
from tests.indexer.convergence import (assert_same_catalog, catalog_snapshot, committed_assets, kill_after_commits,
                                        ranked_paths)
from tests.indexer.engines.test_local_engines import _mixed_folder

ray = pytest.importorskip("ray")

SETTINGS = IndexSettings(batch_size=4, commit_every=4)


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module (starting one costs seconds); the engine finds this
    process connected and uses it, and a `scout index` subprocess joins it by address."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _ray_engine():
    return load_engine(EngineSettings(name="ray", workers=2, encoder_options=EncoderOptions(device="cpu")))


def _index(library_dir: Path, folder: Path, encoder, engine=None, progress=None):
    library = Library.create_or_open(library_dir)
    result = IndexRun(library, encoder, SETTINGS, progress=progress, engine=engine).run([folder])
    return library, result


def _failures(library: Library) -> list[tuple[str, str, str]]:
    return sorted((f.path, f.reason, f.message) for f in library.catalog.failures())


def _assert_same_as(library: Library, reference: Library, encoder) -> None:
    """Same paths, contents, vectors (1e-5), failures, and the same search results. (Asset ids may
    differ: a local run stores a copy of a content still waiting for its batch before the
    original, so the order of exactly tied scores is compared as a set.)"""
    assert_same_catalog(library, reference)
    assert set(ranked_paths(library.path, encoder, limit=100)) == set(ranked_paths(reference.path, encoder, limit=100))
    got, want = catalog_snapshot(library), catalog_snapshot(reference)
    assert max(float(np.abs(got[p][1] - want[p][1]).max()) for p in want) < 1e-5
    assert _failures(library) == _failures(reference)
    assert library.catalog.asset_count() == len(want)  # no path twice


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, tiny_encoder):
    """A folder of every kind of item (photos, a copy, a corrupt JPEG, a text file) and the
    catalog the threads engine makes of it."""
    folder = _mixed_folder(tmp_path_factory.mktemp("mixed") / "photos")
    (folder / "fake.png").write_text("a text file with an image's name")
    reference, _ = _index(tmp_path_factory.mktemp("lib-threads"), folder, tiny_encoder)
    return folder, reference


def test_a_ray_run_gives_the_catalog_of_a_local_run(cluster, mixed, tmp_path, tiny_encoder):
    folder, reference = mixed
    library, result = _index(tmp_path / "lib-ray", folder, tiny_encoder, _ray_engine())
    assert result.status == "completed"
    assert (result.stats.embedded, result.stats.reused, result.stats.failed, result.stats.ignored) == (9, 1, 2, 1)
    _assert_same_as(library, reference, tiny_encoder)
    assert [Path(f[0]).name for f in _failures(library)] == ["broken.jpg", "fake.png"]
    for path in catalog_snapshot(library):
        thumbnail = library.path / library.catalog.asset_by_path(path).thumbnail
        assert thumbnail.is_file() and thumbnail.stat().st_size > 0, path  # the driver wrote the workers' bytes

    again = IndexRun(library, tiny_encoder, SETTINGS, engine=_ray_engine()).run([folder])
    assert again.stats.unchanged == again.stats.found == 13 and again.stats.embedded == 0


def _ray_workers(title: str) -> list[psutil.Process]:
    """This test's own Ray worker processes whose title starts with ``title``."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if " ".join(child.cmdline()).startswith(title):
                found.append(child)
        except psutil.Error:
            continue
    return found


def test_a_killed_worker_and_actor_are_replaced_and_the_run_completes(cluster, tmp_path, tiny_encoder):
    folder = tmp_path / "photos"
    write_images(folder, 48, size=(320, 240))
    reference, _ = _index(tmp_path / "lib-threads", folder, tiny_encoder)
    killed: list[int] = []

    def kill_the_embedding_actor_mid_run(stats) -> None:
        if stats.done >= 8 and not killed:
            for victim in _ray_workers("ray::MapWorker") + _ray_workers("ray::MapBatches"):
                victim.send_signal(signal.SIGKILL)
                killed.append(victim.pid)

    library, result = _index(tmp_path / "lib-ray", folder, tiny_encoder, _ray_engine(),
                             progress=kill_the_embedding_actor_mid_run)
    assert killed, "no Ray worker was running mid-run: the test must kill one to mean anything"
    assert result.status == "completed" and result.stats.embedded == 48
    _assert_same_as(library, reference, tiny_encoder)


def test_kill_9_of_the_driver_then_a_rerun_equals_a_clean_run(cluster, tmp_path, tiny_clip_dir, tiny_encoder):
    total = 96
    folder = tmp_path / "photos"
    write_images(folder, total, size=(640, 480))
    victim = tmp_path / "killed-lib"
    kill_after_commits([sys.executable, "-m", "api.cli", "index", str(folder), "--library", str(victim),
                        "--model", f"open_clip:local-dir:{tiny_clip_dir}", "--device", "cpu", "--engine", "ray",
                        "--address", cluster, "--batch-size", "4", "--commit-every", "4"],
                       victim, at_least=4, timeout=120)
    committed = committed_assets(victim / "catalog.db")
    assert 4 <= committed < total, "the kill must land mid-run for this test to mean anything"

    # A committed photo copied under a new name is reused by content: the cluster's workers know
    # the catalog's hashes, and decode nothing for it.
    first = sorted(folder.glob("*.png"))[0]
    shutil.copy(first, folder / "a-copy.png")
    library, resumed = _index(victim, folder, tiny_encoder, _ray_engine())
    assert resumed.status == "completed"
    assert (resumed.stats.unchanged, resumed.stats.embedded, resumed.stats.reused) == (
        committed, total - committed, 1)
    reference, _ = _index(tmp_path / "clean-lib", folder, tiny_encoder)
    _assert_same_as(library, reference, tiny_encoder)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the with block ends


def test_an_address_where_no_cluster_answers_is_a_clear_error(tmp_path):
    folder = tmp_path / "photos"
    write_images(folder, 1)
    address = f"127.0.0.1:{_closed_port()}"
    run = subprocess.run([sys.executable, "-m", "api.cli", "index", str(folder), "--library", str(tmp_path / "lib"),
                          "--engine", "ray", "--address", address], capture_output=True, text=True, timeout=120)
    assert run.returncode == 5, run.stderr
    assert f"No Ray cluster answers at {address}" in run.stderr and "ray start --head" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "lib").exists()  # refused before anything was created

    with pytest.raises(ConfigError, match="is not host:port"):
        load_engine(EngineSettings(name="ray", address="head-node"))
    with pytest.raises(ComponentUnavailable, match="No Ray cluster answers"):
        load_engine(EngineSettings(name="ray", address=address))


def test_known_hashes_travel_as_one_sorted_array():
    known = SortedHashes({"0f" * 16, "a1" * 16, "ff" * 16})
    assert "a1" * 16 in known and "0f" * 16 in known and "ff" * 16 in known
    assert "a2" * 16 not in known and "" not in known and None not in known
    assert "x" not in SortedHashes(set()) and len(known) == 3


def test_results_stop_with_a_clear_error_when_the_head_node_goes_away():
    release = threading.Event()

    def a_cluster_that_went_silent():
        yield {"item": [b"first"]}
        release.wait(60)  # Ray's client waiting for a head that is gone
        yield {"item": [b"never"]}

    gone = f"127.0.0.1:{_closed_port()}"
    got = []
    try:
        with pytest.raises(ComponentUnavailable, match=f"head node \\({gone}\\) stopped answering"):
            for batch in watch_head(a_cluster_that_went_silent(), gone, check_every=0.05, give_up_after=0.2,
                                    wind_down=0.1):
                got.append(batch)
    finally:
        release.set()
    assert got == [{"item": [b"first"]}]  # what arrived before was handed on

    def failing():
        yield 1
        raise ValueError("a task failed")

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        alive = "127.0.0.1:%d" % listening.getsockname()[1]
        assert list(watch_head(iter(range(5)), alive, check_every=0.01)) == [0, 1, 2, 3, 4]
        with pytest.raises(ValueError, match="a task failed"):
            list(watch_head(failing(), alive))


def test_a_local_cluster_of_one_cpu_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="--workers 2 or more"):
        load_engine(EngineSettings(name="ray", workers=1))
