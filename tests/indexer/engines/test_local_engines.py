"""The local engines (threads, processes) give the same catalog, and a dying worker loses nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.engines import ENGINES, load_engine
from indexer.engines.processes import ProcessEngine
from indexer.errors import ComponentUnavailable, ConfigError
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import EngineSettings, IndexSettings
from tests.conftest import write_images
from tests.indexer.convergence import assert_same_catalog


def _mixed_folder(folder: Path) -> Path:
    """Photos, a duplicate, a corrupt JPEG and a non-image: every kind of item an engine returns."""
    paths = write_images(folder, 9)
    (folder / "copy-of-first.png").write_bytes(paths[0].read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _index(library_dir: Path, folder: Path, encoder, engine: str, **settings) -> tuple[Library, object]:
    library = Library.create_or_open(library_dir)
    run = IndexRun(library, encoder, IndexSettings(batch_size=4, commit_every=4),
                   engine=load_engine(EngineSettings(name=engine, workers=2, **settings)))
    return library, run.run([folder])


def test_worker_processes_give_the_same_catalog_as_threads(tmp_path, tiny_encoder):
    folder = _mixed_folder(tmp_path / "photos")
    threads, _ = _index(tmp_path / "lib-threads", folder, tiny_encoder, "threads")
    processes, result = _index(tmp_path / "lib-processes", folder, tiny_encoder, "processes")
    assert (result.stats.embedded, result.stats.reused, result.stats.failed, result.stats.ignored) == (9, 1, 1, 1)
    assert_same_catalog(processes, threads, tiny_encoder)
    failure = processes.catalog.failures()[0]
    assert failure.path.endswith("broken.jpg") and failure.reason == threads.catalog.failures()[0].reason
    for path in sorted(folder.glob("*.png")):
        asset = processes.catalog.asset_by_path(str(path))
        assert (processes.path / asset.thumbnail).is_file(), path  # workers wrote the thumbnails

    again = IndexRun(processes, tiny_encoder, engine=load_engine(EngineSettings(name="processes"))).run([folder])
    assert again.stats.unchanged == 12 and again.stats.embedded == 0


def test_a_killed_worker_process_stops_the_run_with_a_clear_error_and_keeps_what_was_committed(
        tmp_path, tiny_encoder):
    folder = tmp_path / "photos"
    write_images(folder, 40)
    library = Library.create_or_open(tmp_path / "lib")
    engine = ProcessEngine(EngineSettings(name="processes", workers=2))
    committed = []

    def kill_a_worker_after_the_first_commit(stats) -> None:
        if stats.embedded >= 8 and not committed:
            committed.append(stats.embedded)
            os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)  # a pool worker

    run = IndexRun(library, tiny_encoder, IndexSettings(batch_size=4, commit_every=4),
                   progress=kill_a_worker_after_the_first_commit, engine=engine)
    with pytest.raises(ConfigError, match="worker process died"):
        run.run([folder])
    kept = library.catalog.asset_count()
    assert kept >= 4  # committed batches survive the crash
    resumed = IndexRun(library, tiny_encoder, engine=load_engine(EngineSettings(name="processes"))).run([folder])
    assert resumed.stats.unchanged == kept and resumed.stats.embedded == 40 - kept
    assert library.catalog.asset_count() == 40


def test_engine_choices_are_checked_before_any_work(tmp_path):
    with pytest.raises(ComponentUnavailable, match="Unknown index engine backend 'gpu-farm'"):
        load_engine(EngineSettings(name="gpu-farm"))
    with pytest.raises(ConfigError, match="--address names a cluster"):
        EngineSettings(name="threads", address="10.0.0.1:6379")
    assert {"threads", "processes", "ray"} <= set(ENGINES.names())


def test_the_cli_refuses_an_unknown_engine_without_loading_a_model(tmp_path):
    folder = tmp_path / "photos"
    write_images(folder, 1)
    run = subprocess.run([sys.executable, "-m", "api.cli", "index", str(folder), "--library", str(tmp_path / "lib"),
                          "--engine", "gpu-farm"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 5, run.stderr
    assert "Unknown index engine backend 'gpu-farm'" in run.stderr and "threads" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "lib").exists()  # nothing created for a refused command


@pytest.mark.parametrize("engine", ["threads", "processes"])
def test_a_run_with_nothing_new_never_loads_the_image_side_of_the_model(tmp_path, offline_encoder, engine):
    from indexer.encoders.offline import OfflineEncoder
    from indexer.settings import EncoderOptions

    folder = tmp_path / "photos"
    write_images(folder, 3)
    library, first = _index(tmp_path / "lib", folder, offline_encoder, engine)
    assert first.stats.embedded == 3
    fresh = OfflineEncoder(EncoderOptions(device="cpu"))
    _, again = _index(tmp_path / "lib", folder, fresh, engine)
    assert again.stats.unchanged == 3
    assert fresh._image is None  # neither the classifier nor its transform was loaded
