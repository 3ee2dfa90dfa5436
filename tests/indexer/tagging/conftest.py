"""A small real library (the sample photos, offline model), tagged with the starter taxonomy: built
once, copied for each test (tests record decisions and re-tag, so each needs its own)."""

from __future__ import annotations

import shutil

import pytest

from indexer.library import Library
from indexer.tagging.tagger import Tagger
from indexer.tagging.taxonomy import load_taxonomy
from tests.conftest import SAMPLE_PHOTOS, index_folder


@pytest.fixture(scope="session")
def tagged_template(tmp_path_factory, offline_encoder):
    base = tmp_path_factory.mktemp("tagged")
    shutil.copytree(SAMPLE_PHOTOS, base / "photos")
    library, _ = index_folder(base / "lib", [base / "photos"], offline_encoder)
    Tagger(library, offline_encoder).run(load_taxonomy())
    library.catalog.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    library.close()
    return base / "lib"


@pytest.fixture()
def tagged_library(tmp_path, tagged_template):
    shutil.copytree(tagged_template, tmp_path / "lib", ignore=shutil.ignore_patterns(".lock"))
    library = Library.open(tmp_path / "lib")
    yield library
    library.close()


def asset_named(library, name: str) -> int:
    (asset_id,) = [a.id for a in library.catalog.assets_by_ids(range(1, 100)).values() if a.name == name]
    return asset_id
