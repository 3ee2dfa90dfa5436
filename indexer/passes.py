"""Content passes: work done once per distinct content after it is embedded (OCR, embedded
metadata, perceptual hashes, safety verdicts, tags), incrementally, in the index run's writer.

Why a separate stage after embedding rather than more work in the decode threads: search is
usable as soon as the vectors are committed; the slower readers (OCR costs ~0.5 s an image on
2 cores) fill in afterwards, can be switched off per library, and backfill a library indexed
before they existed on the next ``scout index``, with no re-embedding. Each pass keeps one row per
content in a table of its own stamped with its ``version``; a new version re-runs it
(:mod:`indexer.catalog.passes`).

A pass gets the file's bytes checked against the content hash it is asked about: a file
changed since it was indexed is skipped (the next index run gives it a new hash), so a result
is never stored under the wrong content.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from indexer.errors import ComponentUnavailable, ScoutError

if TYPE_CHECKING:
    from indexer.catalog import Catalog
    from indexer.library import Library

# Contents handed to the workers per commit: small enough that a kill loses little work, large
# enough that a commit's cost (one transaction) does not show.
CHUNK = 16


@dataclass(frozen=True)
class PassInput:
    """One content to look at: its hash, a path holding it, and its bytes (None for files over
    the pipeline's large-file limit, which a pass reads from ``path`` itself)."""

    hash: str
    path: str
    data: bytes | None


class ContentPass(Protocol):
    name: str  # shown in progress and status: "ocr", "metadata", ...
    table: str  # where results live, a key of indexer.catalog.passes.PASS_TABLES
    version: str  # the producer (engine + settings); a change re-runs the pass on every content

    def process(self, item: PassInput) -> object:
        """Look at one content (in a worker thread). May raise; the exception is handed to
        :meth:`commit` as that content's result (store :func:`failure_text` of it), except
        ``ComponentUnavailable``, which stops the run."""

    def commit(self, catalog: "Catalog", results: list[tuple[PassInput, object]]) -> None:
        """Store one chunk of results (a result may be an exception) in one transaction."""


@dataclass
class PassStats:
    name: str
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0  # changed on disk since indexing, or unreadable: tried again next run
    seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("name", "started")}


PassProgress = Callable[[PassStats], None]


class FileChanged(ScoutError):
    """The file no longer holds the content it was indexed with."""


def read_content(content_hash: str, path: str) -> PassInput:
    """The bytes of ``path``, checked to still be ``content_hash`` (the index run's own reader,
    imported here because it brings the decoders, which a search never needs)."""
    from indexer.prepare import read_and_hash

    data, _, digest = read_and_hash(path, os.stat(path).st_size)  # data is None for large files
    if digest != content_hash:
        raise FileChanged(f"{path} changed since it was indexed.")
    return PassInput(content_hash, path, data)


def _process(content_pass: ContentPass, content_hash: str, path: str) -> tuple[PassInput | None, object]:
    try:
        item = read_content(content_hash, path)
    except (OSError, FileChanged):
        return None, None
    try:
        return item, content_pass.process(item)
    except ComponentUnavailable:
        raise  # the pass's engine itself is broken: stop, and store nothing that would never be retried
    except Exception as exc:  # one content's failure is recorded, never the run's end
        return item, exc


def failure_text(exc: Exception) -> str:
    """How a content's failure is stored in a pass table's ``error`` column: a Scout error's own
    message, else the exception's type and text, bounded."""
    return (getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")[:500]


def run_pass(library: "Library", content_pass: ContentPass, *, workers: int = 2,
             progress: PassProgress | None = None) -> PassStats:
    """Run one pass over every content it has not seen; the caller holds the writer lock."""
    catalog = library.catalog
    stats = PassStats(content_pass.name, total=catalog.pending_count(content_pass.table, content_pass.version))
    report = progress or (lambda s: None)
    report(stats)
    after = ""
    with ThreadPoolExecutor(workers, thread_name_prefix=f"pass-{content_pass.name}") as pool:
        while batch := catalog.pending_contents(content_pass.table, content_pass.version, CHUNK, after):
            after = batch[-1][0]
            outcomes = list(pool.map(lambda row: _process(content_pass, *row), batch))
            results = [(item, result) for item, result in outcomes if item is not None]
            stats.skipped += len(outcomes) - len(results)
            stats.failed += sum(isinstance(result, Exception) for _, result in results)
            if results:
                content_pass.commit(catalog, results)
            stats.done += len(results)
            stats.seconds = time.monotonic() - stats.started
            report(stats)
    return stats


def run_passes(library: "Library", passes: Sequence[ContentPass], *, workers: int = 2,
               progress: PassProgress | None = None) -> list[PassStats]:
    return [run_pass(library, p, workers=workers, progress=progress) for p in passes]

