"""Index runs over real folders: incremental behaviour, failures, duplicates, locking."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer import vectors
from indexer.errors import LibraryBusy, ModelMismatch
from indexer.library import Library
from indexer.pipeline import IndexRun
from indexer.settings import IndexSettings
from tests.conftest import SAMPLE_AWKWARD, index_folder, pattern_image, write_images


def catalog_state(library: Library) -> dict[str, str]:
    rows = library.catalog.db.execute("SELECT path, hash FROM assets").fetchall()
    return dict(rows)


def test_first_run_embeds_everything_and_writes_a_snapshot(tmp_path, tiny_encoder):
    write_images(tmp_path / "photos", 7)
    library, result = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder, batch_size=3)
    assert result.status == "completed"
    assert (result.stats.found, result.stats.embedded, result.stats.failed) == (7, 7, 0)
    newest = vectors.newest_index_file(library.vectors_dir)
    assert newest and newest[1] == library.catalog.generation
    assert vectors.load_index(newest[0]).ntotal == 7
    assert library.model_id == tiny_encoder.model_id


def test_unchanged_rerun_touches_nothing(tmp_path, tiny_encoder):
    write_images(tmp_path / "photos", 5)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    generation = library.catalog.generation
    _, again = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    assert (again.stats.unchanged, again.stats.embedded, again.stats.reused) == (5, 0, 0)
    assert library.catalog.generation == generation  # no commit, no new snapshot


def test_rename_and_copy_reuse_vectors_without_decoding(tmp_path, tiny_encoder):
    paths = write_images(tmp_path / "photos", 4)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    before = catalog_state(library)
    renamed = paths[0].with_name("renamed.png")
    paths[0].rename(renamed)
    (tmp_path / "photos" / "sub").mkdir()
    shutil.copy2(paths[1], tmp_path / "photos" / "sub" / "copy.png")
    _, result = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    assert (result.stats.embedded, result.stats.reused, result.stats.removed) == (0, 2, 1)
    after = catalog_state(library)
    assert str(paths[0]) not in after
    assert after[str(renamed)] == before[str(paths[0])]
    assert after[str(tmp_path / "photos" / "sub" / "copy.png")] == before[str(paths[1])]


def test_modified_file_is_re_embedded_and_deleted_file_removed(tmp_path, tiny_encoder):
    paths = write_images(tmp_path / "photos", 4)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    old_hash = catalog_state(library)[str(paths[2])]
    pattern_image(999).save(paths[2])  # new content, same name
    os.utime(paths[2], ns=(1, 10**18))
    paths[3].unlink()
    _, result = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    assert (result.stats.embedded, result.stats.removed, result.stats.unchanged) == (1, 1, 2)
    state = catalog_state(library)
    assert state[str(paths[2])] != old_hash and str(paths[3]) not in state
    newest = vectors.newest_index_file(library.vectors_dir)
    assert vectors.load_index(newest[0]).ntotal == 3


def test_awkward_files_are_recorded_and_the_run_completes(tmp_path, tiny_encoder):
    root = tmp_path / "awkward"
    shutil.copytree(SAMPLE_AWKWARD, root)
    library, result = index_folder(tmp_path / "lib", [root], tiny_encoder)
    assert result.status == "completed"
    reasons = {Path(f.path).name: f.reason for f in library.catalog.failures()}
    assert reasons == {"empty.jpg": "empty", "not-an-image.png": "not_an_image",
                       "truncated-temple.jpg": "truncated"}
    indexed = {Path(p).name for p in catalog_state(library)}
    assert indexed == {"café-ünïcødé kitten 猫.jpg", "flower-saved-as.dat"}
    assert result.stats.ignored == 1  # README.md: not an image, not an error


def test_failed_files_are_not_retried_until_they_change(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    write_images(root, 2)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    library, first = index_folder(tmp_path / "lib", [root], tiny_encoder)
    assert first.stats.failed == 1
    _, second = index_folder(tmp_path / "lib", [root], tiny_encoder)
    assert (second.stats.failed, second.stats.unchanged) == (0, 3)
    pattern_image(5).save(root / "broken.jpg", "JPEG")  # fixed by the user
    _, third = index_folder(tmp_path / "lib", [root], tiny_encoder)
    assert (third.stats.embedded, third.stats.failed) == (1, 0)
    assert library.catalog.failures() == []


def test_thumbnails_are_written_once_per_content(tmp_path, tiny_encoder):
    paths = write_images(tmp_path / "photos", 2, size=(800, 600))
    shutil.copy2(paths[0], tmp_path / "photos" / "dup.png")
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    thumbs = list(library.thumbs_dir.rglob("*.webp"))
    assert len(thumbs) == 2
    from PIL import Image

    assert max(Image.open(thumbs[0]).size) == 320


def test_model_mismatch_is_refused_with_reindex_hint(tmp_path, tiny_encoder, tiny_clip_dir):
    write_images(tmp_path / "photos", 2)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    library.catalog.set_meta(model="open_clip:ViT-B-32@laion2b_s34b_b79k")
    with pytest.raises(ModelMismatch) as info:
        IndexRun(library, tiny_encoder).run([tmp_path / "photos"])
    assert "scout reindex --model" in info.value.hint


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path, tiny_encoder):
    write_images(tmp_path / "photos", 1)
    library = Library.create_or_open(tmp_path / "lib")
    with library.writer_lock():
        other = Library.create_or_open(tmp_path / "lib")
        with pytest.raises(LibraryBusy):
            IndexRun(other, tiny_encoder).run([tmp_path / "photos"])


def test_vectors_match_a_direct_encoder_call(tmp_path, tiny_encoder):
    paths = write_images(tmp_path / "photos", 3)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder, batch_size=2)
    from PIL import Image

    row = library.catalog.asset_by_path(str(paths[1]))
    stored = library.catalog.vector_for_asset(row.id)
    direct = tiny_encoder.encode_images(tiny_encoder.preprocess(Image.open(paths[1]).convert("RGB"))[None])[0]
    assert np.allclose(stored, direct, atol=1e-5)
    assert abs(np.linalg.norm(stored) - 1) < 1e-5


def test_settings_reject_nonsense():
    from indexer.errors import ConfigError

    with pytest.raises(ConfigError):
        IndexSettings(batch_size=0)


def test_roots_must_be_existing_folders(tmp_path, tiny_encoder):
    from indexer.errors import ConfigError

    library = Library.create_or_open(tmp_path / "lib")
    (tmp_path / "file.jpg").write_bytes(b"x")
    for bad in (tmp_path / "missing", tmp_path / "file.jpg"):
        with pytest.raises(ConfigError, match="is not a folder"):
            IndexRun(library, tiny_encoder).run([bad])


def test_searching_with_another_model_is_refused(tmp_path, tiny_encoder, tiny_clip_dir):
    from search.engine import Searcher
    from tests.conftest import save_tiny_clip
    from indexer.encoders import load_encoder

    write_images(tmp_path / "photos", 2)
    library, _ = index_folder(tmp_path / "lib", [tmp_path / "photos"], tiny_encoder)
    other = load_encoder(f"open_clip:local-dir:{save_tiny_clip(tmp_path / 'other', seed=3)}")
    with pytest.raises(ModelMismatch, match="cannot be compared"):
        Searcher(library, other)


def test_large_files_are_streamed_and_give_the_same_result(tmp_path, tiny_encoder, monkeypatch):
    from indexer import prepare

    paths = write_images(tmp_path / "photos", 3, size=(400, 300))
    normal, _ = index_folder(tmp_path / "lib-a", [tmp_path / "photos"], tiny_encoder)
    monkeypatch.setattr(prepare, "LARGE_FILE_BYTES", 10)  # every file counts as large
    streamed, result = index_folder(tmp_path / "lib-b", [tmp_path / "photos"], tiny_encoder)
    assert result.stats.embedded == 3
    for path in paths:
        a = normal.catalog.asset_by_path(str(path))
        b = streamed.catalog.asset_by_path(str(path))
        assert a.hash == b.hash
        assert np.allclose(normal.catalog.vector_for_asset(a.id), streamed.catalog.vector_for_asset(b.id))
