"""Review panel writes on a real catalog: importing a real brief run (reused and generated
images), manual work with its hours, and ratings."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from PIL import Image

from generation.briefs import Brief
from generation.copy.template import TemplateWriter
from generation.package import package_stages, review_drafts
from generation.run import LibraryImageMaker, brief_run
from indexer.errors import AssetNotFound, ConfigError, UnsupportedImage
from indexer.library import Library
from indexer.reviews import IMAGE_FILE, REVIEWS_DIR, ReviewDesk
from search.engine import Searcher
from tests.conftest import pattern_image
from tests.generation.test_run import PatternGenerator

PALACE = Brief(id="beijing", subject="the Summer Palace in Beijing", must_show=["a palace"], candidates=1,
               formats=["300x250", "160x600"])
TRAM = Brief(id="lisbon", subject="a yellow tram in Lisbon at sunset", candidates=1, formats=["300x250"])


def run_briefs(library_path, encoder, out):
    """A real batch: the palace is reused from sample_assets, the tram generated (pattern generator)."""
    reader = Library.open(library_path, readonly=True)
    writer = Library.open(library_path)
    try:
        maker = LibraryImageMaker(PatternGenerator([]), writer, encoder)
        runner = brief_run(Searcher(reader, encoder), out, maker=maker,
                           extra_stages=package_stages(TemplateWriter(), reader, encoder))
        return runner.run([PALACE, TRAM])
    finally:
        writer.close()


@pytest.fixture(scope="module")
def batch(sample_library, offline_encoder, tmp_path_factory):
    base = tmp_path_factory.mktemp("review-import")
    shutil.copytree(sample_library[0].path, base / "lib")
    result = run_briefs(base / "lib", offline_encoder, base / "out")
    assert [r.outcome for r in result.results] == ["reused", "generated"]
    return base / "lib", base / "out"


def png_bytes(size, seed=1) -> bytes:
    buffer = io.BytesIO()
    pattern_image(seed, size).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_brief_run_imports_as_one_item_per_variant_with_arm_files_and_provenance(batch):
    library_path, out = batch
    library = Library.open(library_path)
    desk = ReviewDesk(library)
    result = desk.add(review_drafts(out).drafts)
    assert len(result.added) == 6 and not result.kept
    items = library.catalog.review_items()
    assert [(i["destination"], i["arm"]) for i in items] == [("beijing", "ai_reused")] * 3 + [("lisbon", "ai_generated")] * 3

    for destination in ("beijing", "lisbon"):
        manifest = json.loads((out / destination / "manifest.json").read_text())
        mine = [i for i in items if i["destination"] == destination]
        assert [i["headline"] for i in mine] == [v["headline"] for v in manifest["copy"]["variants"]]
        # the brief's machine time is shared by its variants: counted once per destination
        assert sum(i["machine_seconds"] for i in mine) == pytest.approx(manifest["machine_seconds"], abs=1e-3)
        for item in mine:
            folder = library_path / REVIEWS_DIR / str(item["id"])
            renders = library.catalog.review_renders(item["id"])
            assert sorted(renders) == sorted(manifest["brief"]["formats"])
            for fmt, name in renders.items():
                with Image.open(folder / name) as render:
                    assert render.format == "JPEG" and f"{render.width}x{render.height}" == fmt
            assert item["image"] == IMAGE_FILE and (folder / IMAGE_FILE).is_file()
            assert item["provenance"]["copy"]["writer"] == "template"
    generated = next(i for i in items if i["arm"] == "ai_generated")["provenance"]["image"]
    assert generated["source"] == "generated" and generated["generation"]["generator"] == "patterns"

    # Importing the same run again adds nothing.
    again = desk.add(review_drafts(out).drafts)
    assert not again.added and sorted(again.kept) == [i["id"] for i in items]
    assert len(library.catalog.review_items()) == 6
    library.close()


def test_briefs_without_a_package_are_reported_not_imported(sample_library, offline_encoder, tmp_path):
    library, _ = sample_library
    nothing = Brief(id="moon", subject="an astronaut on the moon", candidates=1, formats=["300x250"])
    brief_run(Searcher(library, offline_encoder), tmp_path,
              extra_stages=package_stages(TemplateWriter(), library, offline_encoder)).run([nothing])
    found = review_drafts(tmp_path)
    assert not found.drafts and found.skipped == [("moon", "no catalogued image was chosen")]
    with pytest.raises(ConfigError, match="no brief package"):
        review_drafts(tmp_path / "moon")


def test_manual_work_is_stored_by_format_with_its_hours_and_bad_input_loses_nothing(tmp_path):
    library = Library.create_or_open(tmp_path / "lib")
    desk = ReviewDesk(library)
    result = desk.add_manual("beijing", [("feed.png", png_bytes((300, 250))), ("sky.png", png_bytes((160, 600), 2))],
                             "The palace at dawn", "Walk the Long Corridor.", "Book now", hours=4)
    (item_id,) = result.added
    item = library.catalog.review_item(item_id)
    assert item["arm"] == "manual" and item["headline"] == "The palace at dawn"
    assert list(library.catalog.review_renders(item_id)) == ["300x250", "160x600"]
    assert library.catalog.manual_hours() == {"beijing": 4.0}
    # the same work entered twice is one item
    assert desk.add_manual("beijing", [("feed.png", png_bytes((300, 250))), ("sky.png", png_bytes((160, 600), 2))],
                           "The palace at dawn", "Walk the Long Corridor.", "Book now").kept == [item_id]

    bad = [
        (UnsupportedImage, dict(destination="beijing", images=[("notes.png", b"not an image at all")])),
        (ConfigError, dict(destination="../etc", images=[("a.png", png_bytes((300, 250)))])),
        (ConfigError, dict(destination="beijing", images=[])),
        (ConfigError, dict(destination="beijing", images=[("a.png", png_bytes((300, 250)))], hours=-1)),
        (ConfigError, dict(destination="beijing", images=[("a.png", png_bytes((300, 250), 3)),
                                                          ("b.png", png_bytes((300, 250), 4))])),
    ]
    for error, arguments in bad:
        with pytest.raises(error):
            desk.add_manual(headline="x", **arguments)
    assert len(library.catalog.review_items()) == 1 and library.catalog.manual_hours() == {"beijing": 4.0}
    assert sorted(p.name for p in (tmp_path / "lib" / REVIEWS_DIR).iterdir()) == [str(item_id)]  # no stray files
    library.close()


def test_a_rating_again_replaces_the_first_and_bad_ratings_are_refused(tmp_path):
    library = Library.create_or_open(tmp_path / "lib")
    desk = ReviewDesk(library)
    (item_id,) = desk.add_manual("porto", [("a.png", png_bytes((300, 250)))], "Boats at dusk").added
    desk.rate(item_id, "ana", 2, False, "too dark", seconds=12)
    desk.rate(item_id, " ana ", 4, True, "better on a second look", seconds=20)
    desk.rate(item_id, "ben", 5, True)
    assert library.catalog.rating(item_id, "ana") | {"rated_at": 0} == {
        "rating": 4, "approved": True, "comment": "better on a second look", "seconds": 20.0, "rated_at": 0}
    assert [(r["reviewer"], r["rating"]) for r in library.catalog.review_ratings()] == [("ana", 4), ("ben", 5)]

    for call, error in [((item_id, "ana", 6, True), ConfigError), ((item_id, "ana", 0, True), ConfigError),
                        ((item_id, "", 3, True), ConfigError), ((item_id, "a\x00b", 3, True), ConfigError),
                        ((999, "ana", 3, True), AssetNotFound)]:
        with pytest.raises(error):
            desk.rate(*call)
    with pytest.raises(ConfigError):
        desk.rate(item_id, "ana", 3, True, "x" * 2001)
    assert library.catalog.rating(item_id, "ana")["rating"] == 4
    library.close()


def test_a_read_only_library_cannot_take_reviews(tmp_path):
    Library.create_or_open(tmp_path / "lib").close()
    with pytest.raises(ConfigError):
        ReviewDesk(Library.open(tmp_path / "lib", readonly=True))


def test_a_manifest_naming_a_render_outside_its_package_is_refused(batch, tmp_path):
    _, out = batch
    shutil.copytree(out, tmp_path / "out", symlinks=True)
    path = tmp_path / "out" / "beijing" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["renders"]["variants"][0]["formats"]["300x250"]["jpeg"] = "../../../../etc/secret.jpg"
    path.write_text(json.dumps(manifest))
    found = review_drafts(tmp_path / "out")
    assert ("beijing", ) == tuple(b for b, reason in found.skipped if "outside its package" in reason)
    assert found.drafts and all(d.destination != "beijing" for d in found.drafts)  # the others still import


@pytest.mark.parametrize("tamper", [
    lambda m: m.pop("brief"),
    lambda m: m["copy"].update(variants=[]),
    lambda m: m["copy"].update(variants="written"),
    lambda m: m.update(machine_seconds="abc"),
    lambda m: m.update(candidates="abc"),
])
def test_malformed_manifests_are_skipped_with_a_reason(batch, tmp_path, tamper):
    _, out = batch
    shutil.copytree(out, tmp_path / "out", symlinks=True)
    path = tmp_path / "out" / "beijing" / "manifest.json"
    manifest = json.loads(path.read_text())
    tamper(manifest)
    path.write_text(json.dumps(manifest))
    found = review_drafts(tmp_path / "out")
    assert [b for b, _ in found.skipped] == ["beijing"]


def test_an_import_never_copies_a_file_from_outside_the_library(batch, tmp_path):
    """The item's image comes from the chosen catalogued asset (inside the roots), never from a
    path a manifest names."""
    library, out = batch
    shutil.copytree(out, tmp_path / "out", symlinks=True)
    secret = tmp_path / "private.png"
    Image.new("RGB", (64, 64), "red").save(secret)
    path = tmp_path / "out" / "beijing" / "manifest.json"
    manifest = json.loads(path.read_text())
    for candidate in manifest["candidates"]:
        candidate.update(file=str(secret), original=str(secret))
    path.write_text(json.dumps(manifest))
    drafts = [d for d in review_drafts(tmp_path / "out").drafts if d.destination == "beijing"]
    assert drafts and all(d.image is None and d.image_asset is not None for d in drafts)
    for draft in drafts:
        assert draft.image_asset == manifest["copy"]["asset_id"]
    import dataclasses

    endless = [dataclasses.replace(d, machine_seconds=float("inf")) for d in drafts]
    with pytest.raises(ConfigError, match="not a duration"):
        ReviewDesk(Library.open(library)).add(endless)
