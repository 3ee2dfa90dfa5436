"""Generated images join the library: saved once, with provenance in the file and the catalog,
indexed at once, marked generated, found by search."""

from __future__ import annotations

import json
import shutil
import subprocess

from PIL import Image

from indexer.generated import PARAMETERS_CHUNK, PROVENANCE_CHUNK, Provenance, read_provenance, save_generated
from indexer.library import Library
from search.engine import Searcher
from search.query import Example, Filters, Query
from tests.conftest import index_folder, pattern_image, write_images
from tests.indexer.test_library_guard import read_only_mount  # noqa: F401  (fixture)


def provenance(brief_id: str | None = "lisbon-spring", seed: int = 7, **extra) -> Provenance:
    return Provenance(prompt="tram on a sunny Lisbon street, photo", generator="diffusers", model="tiny-sd",
                      width=64, height=48, negative_prompt="text, watermark", seed=seed, steps=2,
                      guidance=7.5, brief_id=brief_id, **extra)


def test_saved_image_carries_provenance_is_indexed_marked_and_found(tmp_path, tiny_encoder):
    library, _ = index_folder(tmp_path / "lib", [_photos(tmp_path)], tiny_encoder)
    picture = pattern_image(99, (64, 48))

    (saved,) = save_generated(library, tiny_encoder, [(picture, provenance())])

    assert saved.created
    assert saved.path.parent == library.path / "generated" / "lisbon-spring"
    with Image.open(saved.path) as image:
        assert image.format == "PNG" and image.size == (64, 48)
        stored = json.loads(image.text[PROVENANCE_CHUNK])
        assert "Negative prompt: text, watermark" in image.text[PARAMETERS_CHUNK]
        assert "Seed: 7" in image.text[PARAMETERS_CHUNK]
    assert stored["prompt"] == "tram on a sunny Lisbon street, photo"
    assert (stored["seed"], stored["steps"], stored["guidance"], stored["brief_id"]) == (7, 2, 7.5, "lisbon-spring")
    assert read_provenance(saved.path) == Provenance.from_dict(stored)

    asset = saved.asset
    assert asset.generated and asset.path == str(saved.path)
    assert library.catalog.provenance(asset.hash)["model"] == "tiny-sd"
    assert str(library.path / "generated") in library.catalog.roots()
    assert library.thumbnail_path(asset.hash).is_file()
    photos = [a for a in library.catalog.assets_by_ids(range(1, 10)).values() if a.id != asset.id]
    assert photos and not any(a.generated for a in photos)

    reader = Library.open(library.path, readonly=True)
    result = Searcher(reader, tiny_encoder).search(
        Query(examples=(Example(asset_id=asset.id),), limit=3, include_all=True))
    assert result.hits[0].asset.id == asset.id and result.hits[0].asset.generated


def test_saving_the_same_image_twice_keeps_one_file_one_asset_and_the_first_provenance(tmp_path, tiny_encoder):
    library = Library.create_or_open(tmp_path / "lib")
    picture = pattern_image(5, (64, 48))
    (first,) = save_generated(library, tiny_encoder, [(picture, provenance(seed=1))])
    (again,) = save_generated(library, tiny_encoder, [(picture.copy(), provenance(seed=2, brief_id="other"))])

    assert not again.created
    assert again.path == first.path and again.asset.id == first.asset.id
    assert again.provenance.seed == 1
    assert list((library.path / "generated").rglob("*.png")) == [first.path]
    assert library.catalog.asset_count() == 1
    assert library.catalog.provenance(first.asset.hash)["seed"] == 1


def test_several_images_are_saved_in_one_index_run_in_order(tmp_path, tiny_encoder):
    library = Library.create_or_open(tmp_path / "lib")
    items = [(pattern_image(seed, (64, 48)), provenance(seed=seed)) for seed in (11, 12, 13)]
    saved = save_generated(library, tiny_encoder, items)
    assert [s.provenance.seed for s in saved] == [11, 12, 13]
    assert len({s.asset.id for s in saved}) == 3
    assert library.catalog.last_run()["stats"]["embedded"] == 3


def test_brief_ids_never_become_paths(tmp_path, tiny_encoder):
    library = Library.create_or_open(tmp_path / "lib")
    saved = save_generated(library, tiny_encoder, [
        (pattern_image(1, (64, 48)), provenance(brief_id="../../etc")),
        (pattern_image(2, (64, 48)), provenance(brief_id=None)),
        (pattern_image(3, (64, 48)), provenance(brief_id="Porto / Douro, 2027")),
    ])
    root = library.path / "generated"
    assert [s.path.parent.name for s in saved] == ["etc", "_unassigned", "Porto-Douro-2027"]
    assert all(s.path.parent.parent == root for s in saved)
    assert saved[0].provenance.brief_id == "../../etc"  # the id itself is kept as data


def _photos(tmp_path):
    folder = tmp_path / "photos"
    write_images(folder, 4)
    return folder


def test_prompts_in_any_language_survive_the_png_chunks(tmp_path, tiny_encoder):
    library = Library.create_or_open(tmp_path / "lib")
    made = Provenance(prompt="Kirschblüten am Fluss in Kyōto, 桜の季節", negative_prompt="Menschen", seed=3,
                      generator="diffusers", model="tiny-sd", width=64, height=48, brief_id="kyoto-de")
    (saved,) = save_generated(library, tiny_encoder, [(pattern_image(8, (64, 48)), made)])
    assert read_provenance(saved.path).prompt == "Kirschblüten am Fluss in Kyōto, 桜の季節"
    assert list(library.path.glob("*.tmp")) == []


def test_a_library_from_before_generated_images_reads_on_read_only_media(read_only_mount, tmp_path, tiny_encoder):  # noqa: F811
    """Schema 2 (no provenance table), on media where it cannot be upgraded: its assets read as
    not generated and the source filter works, instead of every query failing."""
    library, _ = index_folder(tmp_path / "lib", [_photos(tmp_path)], tiny_encoder)
    library.catalog.db.execute("DROP TABLE provenance")
    library.catalog.db.execute("PRAGMA user_version = 2")
    library.catalog.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    library.close()
    copy = read_only_mount / "lib"
    shutil.copytree(tmp_path / "lib", copy, ignore=shutil.ignore_patterns("*-wal", "*-shm", ".lock"))
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)

    reader = Library.open(copy, readonly=True)
    assert reader.catalog.db.execute("PRAGMA user_version").fetchone()[0] == 2
    searcher = Searcher(reader, tiny_encoder)
    like_first = (Example(asset_id=1),)
    assert len(searcher.search(Query(examples=like_first, include_all=True)).hits) == 4
    assert not any(h.asset.generated for h in searcher.search(Query(examples=like_first, include_all=True)).hits)
    only_generated = Query(examples=like_first, include_all=True, filters=Filters(generated=True))
    assert searcher.search(only_generated).hits == []
    reader.close()
