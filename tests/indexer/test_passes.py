"""The content-pass runner: what a pass is handed, what it is spared, and when it runs."""

from __future__ import annotations

from indexer.passes import PassInput, run_pass
from tests.conftest import index_folder, write_images


class Recorder:
    """A pass that keeps what it was given in memory (its table stays empty, so every run hands it
    everything again: the runner's own behaviour is what these tests look at)."""

    name = "recorder"
    table = "perceptual"
    version = "recorder-1"

    def __init__(self, fail_on: set[str] = frozenset()):
        self.fail_on = fail_on
        self.committed: list[tuple[PassInput, object]] = []

    def process(self, item: PassInput) -> object:
        if item.path.endswith(tuple(self.fail_on)):
            raise RuntimeError(f"cannot read {item.path}")
        return len(item.data)

    def commit(self, catalog, results):
        self.committed.extend(results)


def test_a_pass_sees_each_content_once_with_its_checked_bytes(tmp_path, tiny_encoder):
    photos = write_images(tmp_path / "photos", 3)
    (tmp_path / "photos" / "copy.png").write_bytes(photos[0].read_bytes())  # same content twice
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    recorder = Recorder()
    stats = run_pass(library, recorder)
    assert stats.total == stats.done == 3
    sizes = {item.hash: result for item, result in recorder.committed}
    assert sorted(sizes.values()) == sorted(p.stat().st_size for p in photos)


def test_a_failure_is_handed_to_commit_and_a_changed_file_is_skipped(tmp_path, tiny_encoder):
    photos = write_images(tmp_path / "photos", 3)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    photos[1].write_bytes(photos[2].read_bytes() + b"changed")  # no longer the indexed content
    recorder = Recorder(fail_on={photos[0].name})
    stats = run_pass(library, recorder)
    assert (stats.done, stats.failed, stats.skipped) == (2, 1, 1)
    results = {item.path: result for item, result in recorder.committed}
    assert isinstance(results[str(photos[0])], RuntimeError)
    assert results[str(photos[2])] == photos[2].stat().st_size
    assert str(photos[1]) not in results


def test_an_index_run_runs_its_passes_after_the_vectors_and_reports_them(tmp_path, tiny_encoder):
    write_images(tmp_path / "photos", 2)
    recorder = Recorder()
    library, result = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder, passes=[recorder])
    assert [(p.name, p.done) for p in result.passes] == [("recorder", 2)]
    assert library.last_run()["stats"]["passes"]["recorder"]["done"] == 2
