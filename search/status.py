"""What a library holds, in one place for ``scout status`` and ``GET /api/status``."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from indexer.catalog.tags import DEFAULT_THRESHOLD
from indexer.library import Library
from indexer.tagging.tagger import stored_taxonomy
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
    safety: dict  # stored verdicts by kind ({"safe": n, "review": n, "block": n, "failed": n}), over contents
    tags: dict  # {"taxonomy": name or None, "waiting", "accepted", "rejected"} suggestions and decisions

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
        safety=catalog.verdict_counts(),
        tags=_tag_status(library),
    )


def _tag_status(library: Library) -> dict:
    taxonomy = stored_taxonomy(library)
    counts = library.catalog.tag_counts(library.model_id, DEFAULT_THRESHOLD) if taxonomy else {}
    waiting, accepted, rejected = (sum(c[i] for c in counts.values()) for i in range(3))
    return {"taxonomy": taxonomy.name if taxonomy else None, "waiting": waiting, "accepted": accepted,
            "rejected": rejected}
