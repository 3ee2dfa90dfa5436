"""What a library holds, in one place for ``scout status`` and ``GET /api/status``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from indexer.library import Library
from indexer.vectors import newest_index_file


@dataclass(frozen=True)
class LibraryStatus:
    library: str
    roots: list[str]
    assets: int
    failed: int
    model: str | None
    dim: int
    index_type: str
    index_generation: int | None  # generation of the newest FAISS snapshot on disk
    catalog_generation: int
    formats: dict[str, int]
    folders: list[str]
    last_run: dict | None  # a killed run is reported as "interrupted", not "running"
    ocr: dict  # {"enabled": the library's switch (on unless --no-ocr), "read", "with_text", "failed"} contents

    @property
    def index_fresh(self) -> bool:
        return self.index_generation == self.catalog_generation

    def as_dict(self) -> dict:
        return asdict(self)


def library_status(library: Library) -> LibraryStatus:
    catalog = library.catalog
    newest = newest_index_file(library.vectors_dir)
    return LibraryStatus(
        library=str(library.path),
        roots=catalog.roots(),
        assets=catalog.asset_count(),
        failed=catalog.failure_count(),
        model=library.model_id,
        dim=int(catalog.get_meta("dim", "0")),
        index_type=catalog.get_meta("index_type", "none yet"),
        index_generation=newest[1] if newest else None,
        catalog_generation=catalog.generation,
        formats=catalog.formats(),
        folders=catalog.folders(),
        last_run=library.last_run(),
        ocr={"enabled": catalog.ocr_enabled()} | asdict(catalog.ocr_counts()),
    )
