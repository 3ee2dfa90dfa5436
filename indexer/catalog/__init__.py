"""The SQLite catalog: what files exist, what they contain, what failed, and every run.

Layout (see ``MIGRATIONS``):

* ``contents``: one row per distinct file content (SHA-256 hash, first 128 bits) with pixel size, format and the
  embedding. Keying vectors by content is what makes renames, moves and duplicates free: a file
  whose bytes are already known reuses the stored vector without decoding.
* ``assets``: one row per file path, pointing at its content. The asset id is the FAISS id.
* ``failures`` / ``ignored``: files that could not be indexed (with a reason and a hint), and
  files that are not images at all; both keep size + mtime so unchanged ones are not retried.
* ``runs``: one row per index run, for ``scout status``.
* ``provenance``: how a generated content was made (prompt, seed, model, brief...), by hash.
* ``review_items`` / ``review_renders`` / ``review_ratings`` / ``manual_hours``: the review panel.
* ``ocr``, ``media_meta``, ``perceptual``: what content passes (indexer.passes) found in each
  content, one row per content and pass, stamped with the version that produced it.
* ``asset_words``: the FTS5 keyword index, one document per asset.
* ``meta``: key/value settings, the model id above all.

The package splits the one :class:`Catalog` by table family (``store``: the file, meta, roots,
runs; ``assets``; ``provenance``; ``reviews``; the schema in ``schema``), and all SQL in Scout
lives in it. Every write goes through :meth:`Catalog.commit_batch` or another single transaction, and the
database runs in WAL mode, so a reader (the search server) never sees half a batch and a killed
writer never leaves the catalog unreadable.
"""

from __future__ import annotations

from indexer.catalog.assets import AssetTables
from indexer.catalog.media import MediaTables
from indexer.catalog.ocr import OcrTables
from indexer.catalog.passes import PassTables
from indexer.catalog.perceptual import PerceptualTables
from indexer.catalog.provenance import ProvenanceTables
from indexer.catalog.reviews import ReviewTables
from indexer.catalog.safety import SafetyTables
from indexer.catalog.rows import (
    GENERATED_CLAUSE,
    AssetRow,
    Batch,
    ContentWrite,
    FailureRow,
    FailureWrite,
    FileWrite,
    KnownFile,
)
from indexer.catalog.schema import APPLICATION_ID, MIGRATIONS
from indexer.catalog.store import CatalogStore
from indexer.catalog.tags import TagTables
from indexer.catalog.words import WordTables


class Catalog(AssetTables, MediaTables, OcrTables, PerceptualTables, PassTables, ProvenanceTables, ReviewTables,
              SafetyTables, TagTables, WordTables, CatalogStore):
    """All SQL in Scout lives in this package: one class, its tables grouped by family."""

    def __init__(self, path, *, readonly: bool = False):
        super().__init__(path, readonly=readonly)
        if not readonly:  # keyword documents from an older Scout (or none yet): rebuilt once
            self.ensure_words()


__all__ = ["APPLICATION_ID", "GENERATED_CLAUSE", "MIGRATIONS", "AssetRow", "Batch", "Catalog", "ContentWrite",
           "FailureRow", "FailureWrite", "FileWrite", "KnownFile"]
