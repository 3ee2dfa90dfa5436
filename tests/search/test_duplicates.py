"""Duplicate clusters on a real library holding exact, resized, recompressed, cropped and
colour-graded copies (benchmarks/duplicates.py writes them), embedded with the offline model."""

from __future__ import annotations

import os
import shutil

import pytest

from benchmarks.duplicates import VARIANTS, write_variants
from indexer.metadata import MetadataPass
from indexer.perceptual import PerceptualPass
from indexer.errors import StaleResult
from indexer.library import Library
from search.duplicates import DuplicateSettings, ReportCache, choose_keeper, find_duplicates
from tests.conftest import SAMPLE_PHOTOS, index_folder, write_images

PHOTOS = ["spacex-rocket-launch.jpg", "cup-of-coffee-on-saucer.png", "pink-flower-closeup.jpg",
          "chinese-temple-summer-palace.jpg", "hubble-deep-field-galaxies.jpg"]
COPIED = PHOTOS[:2]


@pytest.fixture(scope="module")
def dup_library(tmp_path_factory, offline_encoder):
    root = tmp_path_factory.mktemp("dups") / "files"
    (root / "originals").mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy2(SAMPLE_PHOTOS / name, root / "originals" / name)
        os.utime(root / "originals" / name, (1_500_000_000, 1_500_000_000))  # the originals are oldest
    (root / "exact").mkdir()
    for name in COPIED:
        shutil.copy2(SAMPLE_PHOTOS / name, root / "exact" / name)
        write_variants(root / "originals" / name, root / "variants")
    library, result = index_folder(tmp_path_factory.mktemp("dups-lib"), [root], offline_encoder,
                                   passes=[MetadataPass(), PerceptualPass()])
    return library, root


def _stem(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    for variant in VARIANTS:
        stem = stem.removesuffix(f"-{variant}")
    return stem


def test_copies_cluster_per_photo_with_the_original_as_keeper(dup_library):
    library, root = dup_library
    report = find_duplicates(library)
    assert report.unhashed == 0
    assert len(report.clusters) == len(COPIED)
    for cluster in report.clusters:
        names = {m.asset.name for m in cluster.members}
        stems = {_stem(n) for n in names}
        assert len(stems) == 1, f"a cluster mixes photos: {names}"
        stem = stems.pop()
        original = next(n for n in COPIED if n.startswith(stem))
        variants = {f"{stem}-{v}.jpg" for v in VARIANTS}
        assert names == variants | {original}, f"missing from {stem}: {variants - names}"
        assert cluster.kind == "near"
        assert cluster.keeper.path in (str(root / "originals" / original), str(root / "exact" / original))
        assert cluster.keeper.path == str(root / "originals" / original)  # same size: the older file
        exact = [m for m in cluster.members if m.relation == "exact"]
        assert [m.asset.path for m in exact] == [str(root / "exact" / original)]
        assert all(m.hamming is not None and m.hamming <= DuplicateSettings().close_hamming
                   for m in cluster.members if m.relation == "near")
    singles = {_stem(p) for p in PHOTOS[2:]}
    assert not singles & {_stem(m.asset.name) for c in report.clusters for m in c.members}


def test_exact_only_finds_the_same_bytes_at_two_paths(dup_library):
    library, root = dup_library
    report = find_duplicates(library, DuplicateSettings(exact_only=True))
    assert sorted(c.kind for c in report.clusters) == ["exact", "exact"]
    assert sorted(len(c.members) for c in report.clusters) == [2, 2]


def test_a_tighter_hash_threshold_splits_the_crops_off(dup_library):
    library, _ = dup_library
    strict = find_duplicates(library, DuplicateSettings(max_hamming=2, close_hamming=2))
    names = {m.asset.name for c in strict.clusters for m in c.members}
    assert not any(n.endswith("-crop.jpg") for n in names)


def test_the_keeper_is_the_largest_then_the_oldest(dup_library):
    library, root = dup_library
    rows = library.catalog.assets_for_hashes(
        [library.catalog.asset_by_path(str(root / "variants" / "spacex-rocket-launch-half.jpg")).hash,
         library.catalog.asset_by_path(str(root / "originals" / "spacex-rocket-launch.jpg")).hash])
    assets = [a for group in rows.values() for a in group]
    keeper, reason = choose_keeper([a for a in assets if "/exact/" not in a.path], {})
    assert keeper.path.endswith("originals/spacex-rocket-launch.jpg") and reason.startswith("largest")
    keeper, reason = choose_keeper(assets, {})  # with the same bytes in a newer file: the older one
    assert keeper.path.endswith("originals/spacex-rocket-launch.jpg") and reason.startswith("same size; oldest")


def test_settings_out_of_range_are_query_errors():
    from indexer.errors import QueryError

    for bad in ({"max_hamming": 40}, {"min_similarity": 2.0}, {"close_hamming": -1}):
        with pytest.raises(QueryError):
            DuplicateSettings(**bad)


def test_pages_come_from_one_report_while_the_library_changes(tmp_path, tiny_encoder):
    root = tmp_path / "files"
    first = write_images(root, 2)[0]
    shutil.copy2(first, root / "copy.png")
    shutil.copy2(first, root / "copy2.png")
    index_folder(tmp_path / "lib", [root], tiny_encoder)[0].close()
    reader, cache, exact = Library.open(tmp_path / "lib", readonly=True), ReportCache(), DuplicateSettings(exact_only=True)
    version, report = cache.report(reader, exact)
    assert len(report.clusters) == 1 and cache.report(reader, exact) == (version, report)  # no new search
    assert cache.report(reader, DuplicateSettings())[1] is not report  # other settings, their own report

    def change(path: str) -> None:  # another process changes the library
        writer = Library.open(tmp_path / "lib")
        writer.catalog.forget([str(root / path)])
        writer.close()

    change("copy.png")
    newer, current = cache.report(reader, exact)
    assert newer != version and len(current.clusters[0].members) == 2  # a first page sees the change
    assert cache.report(reader, exact, version)[1] is report  # a later page of the old one stays consistent
    change("copy2.png")
    assert cache.report(reader, exact)[1].clusters == []
    with pytest.raises(StaleResult):  # two changes later the old report is gone: start over
        cache.report(reader, exact, version)
