"""The keyword index: documents that follow their assets (search over them: test_hybrid.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.catalog import Catalog
from indexer.catalog.ocr import OcrRow
from indexer.catalog.words import name_words
from indexer.library import Library
from tests.conftest import index_folder, pattern_image


def write_named(folder: Path, names: dict[str, int]) -> dict[str, Path]:
    """Pattern images under the given file names (name -> seed)."""
    paths = {}
    for name, seed in names.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pattern_image(seed).save(path)
        paths[name] = path
    return paths


def documents(catalog: Catalog) -> dict[str, dict]:
    rows = catalog.db.execute(
        "SELECT a.name, w.name, w.folder, w.keywords, w.ocr FROM asset_words w JOIN assets a ON a.id = w.rowid")
    return {r[0]: dict(zip(("name", "folder", "keywords", "ocr"), r[1:])) for r in rows}


def write_ocr(catalog: Catalog, path: Path, text: str) -> None:
    """An ``ocr`` row for the content at ``path``, stored as the OCR pass stores it."""
    catalog.store_ocr([OcrRow(catalog.asset_by_path(str(path.resolve())).hash, "test", text)])


def write_meta(catalog: Catalog, path: Path, title: str, keywords: list[str]) -> None:
    """A ``media_meta`` row for the content at ``path``, written as the metadata pass writes it."""
    catalog.write_media("test", [(catalog.asset_by_path(str(path.resolve())).hash,
                                  {"title": title, "keywords": keywords}, None)])


def test_file_names_split_on_separators_case_changes_and_digits():
    assert name_words("SummerSale_2026-v2.jpg") == "summersale summer sale 2026 v2 2"
    assert name_words("HTMLPage.png").split() == ["htmlpage", "html", "page"]
    assert name_words("crème brûlée.jpg") == "crème brûlée"


@pytest.fixture()
def named_library(tmp_path, tiny_encoder):
    root = tmp_path / "Acme"
    paths = write_named(root, {"Campaigns/SpringLaunch/SummerSale_2026-v2.png": 1,
                               "Campaigns/SpringLaunch/hero.png": 2, "misc/IMG_0042.png": 3})
    library, _ = index_folder(tmp_path / "lib", [root], tiny_encoder)
    return library, root, paths


def test_index_runs_write_a_document_per_asset_with_name_and_folder_words(named_library):
    library, _, _ = named_library
    docs = documents(library.catalog)
    assert set(docs) == {"SummerSale_2026-v2.png", "hero.png", "IMG_0042.png"}
    assert docs["SummerSale_2026-v2.png"]["name"] == "summersale summer sale 2026 v2 2"
    assert docs["hero.png"]["folder"] == "acme campaigns springlaunch spring launch"
    assert docs["IMG_0042.png"]["folder"] == "acme misc"


def test_ocr_and_embedded_keywords_reach_the_documents_of_every_copy(named_library, tiny_encoder, tmp_path):
    library, root, paths = named_library
    copy = root / "misc" / "hero-copy.png"
    shutil.copy(paths["Campaigns/SpringLaunch/hero.png"], copy)
    library.close()
    library, _ = index_folder(tmp_path / "lib", [root], tiny_encoder)
    write_ocr(library.catalog, copy, "GRAND OPENING\n50% off")
    write_meta(library.catalog, paths["misc/IMG_0042.png"], "Beach day", ["surfing", "summer holiday"])
    docs = documents(library.catalog)
    assert docs["hero.png"]["ocr"] == docs["hero-copy.png"]["ocr"] == "GRAND OPENING\n50% off"
    assert docs["IMG_0042.png"]["keywords"] == "Beach day\nsurfing\nsummer holiday"


def test_removed_and_failed_files_leave_the_index(named_library, tiny_encoder, tmp_path):
    library, root, paths = named_library
    paths["misc/IMG_0042.png"].unlink()
    paths["Campaigns/SpringLaunch/hero.png"].write_bytes(b"not an image any more")
    library.close()
    library, _ = index_folder(tmp_path / "lib", [root], tiny_encoder)
    assert set(documents(library.catalog)) == {"SummerSale_2026-v2.png"}


def test_a_library_from_before_the_keyword_index_gets_its_documents_on_the_next_writable_open(named_library):
    library, _, _ = named_library
    catalog = library.catalog
    with catalog.db.atomic():
        catalog.db.execute("DELETE FROM asset_words")
        catalog.db.execute("DELETE FROM meta WHERE key = 'words_version'")
    library.close()
    readonly = Library.open(library.path, readonly=True)
    assert documents(readonly.catalog) == {}  # a reader never writes
    readonly.close()
    reopened = Library.open(library.path)
    assert len(documents(reopened.catalog)) == 3
    assert reopened.catalog.ensure_words() is False  # once
