"""An index run: scan -> read + hash -> decode -> encode in batches -> commit -> FAISS snapshot
-> content passes (OCR, embedded metadata, ...: :mod:`indexer.passes`).

Reading, hashing, decoding, thumbnailing and preprocessing run in a small thread pool (Pillow,
libjpeg and torch release the GIL); the calling thread encodes batches and writes the catalog, so
model compute overlaps decoding. At most ``workers * 4`` files are in flight, which bounds
memory whatever the library size. Results are consumed in scan order, so a run is
deterministic.

Change detection is stat-only: a path whose size and mtime match the catalog is not opened. A
changed or new path is hashed; a hash the catalog already has a vector for (a rename, a move, a
copy) is recorded without decoding.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch

from indexer import vectors
from indexer.catalog import Batch, ContentWrite, FailureWrite, FileWrite, KnownFile
from indexer.decode import DecodedImage, decode_image
from indexer.encoders.base import Encoder
from indexer.errors import ConfigError, DecodeError
from indexer.library import Library
from indexer.passes import ContentPass, PassProgress, PassStats, run_passes
from indexer.tagging.tagger import TagRunStats, tag_new_contents
from indexer.scan import ScannedFile, ScanProblem, looks_like_image_name, sniff_format, walk
from indexer.settings import IndexSettings


@dataclass
class RunStats:
    """Counters a progress display shows; ``done`` counts files fully handled this run."""

    found: int = 0
    unchanged: int = 0
    embedded: int = 0
    reused: int = 0
    failed: int = 0
    ignored: int = 0
    removed: int = 0
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    current: str = ""

    @property
    def done(self) -> int:
        return self.unchanged + self.embedded + self.reused + self.failed + self.ignored

    @property
    def images_per_second(self) -> float:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (self.embedded + self.reused) / elapsed

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("started")
        data.pop("current")
        return data


@dataclass(frozen=True)
class RunResult:
    run_id: int
    status: str  # "completed" | "interrupted"
    stats: RunStats
    model_id: str
    passes: tuple[PassStats, ...] = ()  # what each content pass did after the embedding
    tags: TagRunStats | None = None  # what tagging did, in a library that has a taxonomy


Progress = Callable[[RunStats], None]


# -- worker side ----------------------------------------------------------------------------------


# Files above this are hashed while streaming and decoded from disk, never held whole in memory
# (an agency's layered 2 GB TIFF must not multiply by the number of files in flight).
LARGE_FILE_BYTES = 64 * 1024 * 1024


def content_hash(data: bytes) -> str:
    """128 bits of SHA-256: hardware-accelerated here (2.7 ms for a 4 MB JPEG, BLAKE2b 7.1 ms)."""
    return hashlib.sha256(data).hexdigest()[:32]


def _read_and_hash(path: str, size: int) -> tuple[bytes | None, bytes, str]:
    """(whole content or None for large files, first bytes, content hash)."""
    with open(path, "rb") as handle:
        if size <= LARGE_FILE_BYTES:
            data = handle.read()
            return data, data[:32], content_hash(data)
        head = handle.read(32)
        handle.seek(0)
        return None, head, hashlib.file_digest(handle, "sha256").hexdigest()[:32]


@dataclass
class _Prepared:
    file: FileWrite
    kind: str  # "decoded" | "reused" | "failed" | "ignored"
    hash: str = ""
    tensor: torch.Tensor | None = None
    decoded: DecodedImage | None = None
    thumbnail: str | None = None
    error: DecodeError | None = None


class _Worker:
    """What one decode thread does for one changed file; never raises."""

    def __init__(self, library: Library, encoder: Encoder, settings: IndexSettings, known_hashes: set[str]):
        self.library = library
        self.encoder = encoder
        self.settings = settings
        self.known_hashes = known_hashes

    def __call__(self, file: FileWrite) -> _Prepared:
        try:
            data, head, digest = _read_and_hash(file.path, file.size)
        except OSError as exc:
            # Recorded without the scan's stat: fixing permissions or remounting a drive leaves
            # size and mtime as they were, and the next run must still try the file again.
            return _Prepared(FileWrite(file.path, file.root, -1, -1), "failed", error=DecodeError(
                "unreadable", f"Cannot read the file: {exc.strerror}.",
                hint="Check permissions and that the drive is still mounted; the next run tries again."))
        if sniff_format(head) is None and not looks_like_image_name(file.path):
            return _Prepared(file, "ignored")
        if digest in self.known_hashes:
            return _Prepared(file, "reused", hash=digest)
        try:
            decoded = decode_image(
                data, file.path, max_pixels=self.settings.max_pixels, target=self.settings.decode_size
            )
            tensor = self.encoder.preprocess(decoded.image)
        except DecodeError as exc:
            return _Prepared(file, "failed", error=exc)
        except Exception as exc:  # a codec bug must cost one file, not the run
            return _Prepared(file, "failed", error=DecodeError(
                "decode_failed", f"Decoder crashed: {type(exc).__name__}: {exc}.",
                hint="Re-export the file; if many files fail like this, report it."))
        thumbnail = self._write_thumbnail(digest, decoded)
        return _Prepared(file, "decoded", hash=digest, tensor=tensor, decoded=decoded,
                         thumbnail=thumbnail)

    def _write_thumbnail(self, digest: str, decoded: DecodedImage) -> str | None:
        """Thumbnails are made now, from pixels already decoded, so the web grid never decodes
        originals. Losing one (disk full) is not worth failing the file for."""
        target = self.library.thumbnail_path(digest)
        relative = str(target.relative_to(self.library.path))
        if target.is_file():
            return relative
        thumb = decoded.image.copy()
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{id(thumb)}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            thumb.thumbnail((self.settings.thumbnail_size, self.settings.thumbnail_size))
            thumb.save(tmp, "WEBP", quality=80, method=0)  # method 0: 4.5 ms, not 10.5 ms
            os.replace(tmp, target)
            return relative
        except OSError:
            tmp.unlink(missing_ok=True)  # a half-written file on a full disk
            return None


# -- the run --------------------------------------------------------------------------------------


def resolve_roots(roots: list[Path]) -> list[str]:
    """Absolute paths of the folders to index; anything else is refused up front."""
    resolved = []
    for root in roots:
        path = Path(root).expanduser().resolve()
        if not path.is_dir():
            raise ConfigError(f"{root} is not a folder.", hint="Pass folders to index.")
        resolved.append(str(path))
    return resolved


class IndexRun:
    def __init__(
        self,
        library: Library,
        encoder: Encoder,
        settings: IndexSettings | None = None,
        progress: Progress | None = None,
        retry_failed: bool = False,
        passes: Sequence[ContentPass] = (),
        pass_progress: PassProgress | None = None,
    ):
        self.library = library
        self.catalog = library.catalog
        self.encoder = encoder
        self.settings = settings or IndexSettings()
        self.progress = progress or (lambda stats: None)
        self.retry_failed = retry_failed
        self.passes = passes
        self.pass_progress = pass_progress
        self.pass_stats: list[PassStats] = []
        self.tag_stats: TagRunStats | None = None
        self.stats = RunStats()
        self.batch = Batch()
        self.pending: list[_Prepared] = []
        self.pending_hashes: set[str] = set()
        self._hashes_loaded = False

    def run(self, roots: list[Path]) -> RunResult:
        resolved = resolve_roots(roots)
        with self.library.writer_lock():
            self.library.check_model(self.encoder.model_id)
            if self.library.model_id is None:
                self.catalog.set_meta(model=self.encoder.model_id, dim=str(self.encoder.dim))
            self.catalog.add_roots(resolved)
            run_id = self.catalog.start_run(self.encoder.model_id, resolved)
            status = "interrupted"
            try:
                known_hashes: set[str] = set()  # filled when the first changed file shows up
                worker = _Worker(self.library, self.encoder, self.settings, known_hashes)
                with ThreadPoolExecutor(self.settings.decode_workers, thread_name_prefix="decode") as pool:
                    for root in resolved:
                        self._index_root(root, pool, worker, known_hashes)
                self._write_index_snapshot()
                # After the vectors are committed and searchable: the slower readers fill in.
                self.pass_stats = run_passes(self.library, self.passes, workers=self.settings.decode_workers,
                                             progress=self.pass_progress)
                # A tagged library tags what this run added (vectors only: cheap, see indexer.tagging).
                self.tag_stats = tag_new_contents(self.library, self.encoder)
                self.catalog.optimize_words()  # one keyword-index segment: fast keyword queries
                status = "completed"
            finally:
                self.stats.seconds = time.monotonic() - self.stats.started
                try:
                    self.catalog.finish_run(run_id, status, self.stats.as_dict() | {
                        "passes": {p.name: p.as_dict() for p in self.pass_stats}})
                except Exception:
                    # A run that already failed (a full disk fails this write too) reports its
                    # own error; the run then reads as interrupted once this process is gone.
                    if status == "completed":
                        raise
        return RunResult(run_id, status, self.stats, self.encoder.model_id, tuple(self.pass_stats), self.tag_stats)

    def _changed_files(self, root: str, known: dict[str, KnownFile], seen: set[str]) -> Iterator[FileWrite]:
        for item in walk(Path(root), allowed=self.catalog.roots()):
            if isinstance(item, ScanProblem):
                seen.add(item.path)
                self.stats.found += 1
                self._record_failure(FileWrite(item.path, root, -1, -1),
                                     DecodeError(item.reason, item.message, hint=item.hint))
                continue
            assert isinstance(item, ScannedFile)
            seen.add(item.path)
            self.stats.found += 1
            previous = known.get(item.path)
            if previous is not None:
                size, mtime_ns, kind = previous
                if (size, mtime_ns) == (item.size, item.mtime_ns) and not (
                    self.retry_failed and kind == "failure"
                ):
                    self.stats.unchanged += 1
                    continue
            yield FileWrite(item.path, root, item.size, item.mtime_ns)

    def _index_root(self, root: str, pool: ThreadPoolExecutor, worker: _Worker, known_hashes: set[str]) -> None:
        known = self.catalog.known_files(root)
        seen: set[str] = set()
        in_flight: deque[Future[_Prepared]] = deque()
        limit = self.settings.decode_workers * 4
        for file in self._changed_files(root, known, seen):
            if not self._hashes_loaded:  # an unchanged re-run never pays for this
                known_hashes.update(self.catalog.embedded_hashes())
                self._hashes_loaded = True
            in_flight.append(pool.submit(worker, file))
            while len(in_flight) >= limit:
                self._consume(in_flight.popleft().result(), known_hashes)
        while in_flight:
            self._consume(in_flight.popleft().result(), known_hashes)
        self._flush(known_hashes)
        self.stats.removed += self.catalog.forget(known.keys() - seen)
        self.progress(self.stats)

    def _consume(self, item: _Prepared, known_hashes: set[str]) -> None:
        self.stats.current = item.file.path
        if item.kind == "failed":
            self._record_failure(item.file, item.error)
        elif item.kind == "ignored":
            self.batch.ignored.append(item.file)
            self.stats.ignored += 1
        elif item.kind == "reused" or item.hash in self.pending_hashes or item.hash in known_hashes:
            self.batch.assets.append((item.file, item.hash))
            self.stats.reused += 1
        else:
            self.pending.append(item)
            self.pending_hashes.add(item.hash)
            if len(self.pending) >= self.settings.batch_size:
                self._encode_pending(known_hashes)
        if len(self.batch) >= self.settings.commit_every:
            self._flush(known_hashes)
        self.progress(self.stats)

    def _record_failure(self, file: FileWrite, error: DecodeError) -> None:
        if error.reason == "unreadable" and not os.path.isdir(file.root):
            # The whole root went away (an unmounted drive), not this one file: recording every
            # file under it as failed would take them all out of search. Stop before committing.
            raise ConfigError(
                f"{file.root} disappeared during the index run (unmounted or moved?).",
                hint="Reconnect it and run scout index again; everything indexed before is kept.")
        self.batch.failures.append(FailureWrite(file, error.reason, error.message, error.hint))
        self.stats.failed += 1

    def _encode_pending(self, known_hashes: set[str]) -> None:
        if not self.pending:
            return
        embeddings = self.encoder.encode_images(torch.stack([p.tensor for p in self.pending]))
        for item, vector in zip(self.pending, embeddings):
            d = item.decoded
            self.batch.contents.append(ContentWrite(
                item.hash, d.format, d.width, d.height, d.mode, vector, item.thumbnail))
            self.batch.assets.append((item.file, item.hash))
            known_hashes.add(item.hash)
        self.stats.embedded += len(self.pending)
        self.pending = []
        self.pending_hashes = set()

    def _flush(self, known_hashes: set[str]) -> None:
        """Commit everything handled so far; a batch is the unit a kill -9 can lose."""
        self._encode_pending(known_hashes)
        if len(self.batch):
            self.catalog.commit_batch(self.batch)
            self.batch = Batch()

    def _write_index_snapshot(self) -> None:
        generation = self.catalog.generation
        newest = vectors.newest_index_file(self.library.vectors_dir)
        if newest and newest[1] == generation:
            return
        index = vectors.updated_snapshot(self.catalog, self.library.vectors_dir, self.encoder.dim)
        vectors.save_index(index, self.library.vectors_dir, generation)
        self.catalog.set_meta(index_type=vectors.describe(index))


def reembed(library: Library, encoder: Encoder, settings: IndexSettings | None = None,
            progress: Progress | None = None, passes: Sequence[ContentPass] = (),
            pass_progress: PassProgress | None = None) -> RunResult:
    """Switch a library to another model: forget every vector, then index all roots again (the
    content passes' rows stay: they do not depend on the model)."""
    roots = [Path(r) for r in library.catalog.roots()]
    with library.writer_lock():
        library.catalog.clear_vectors()
        library.catalog.set_meta(model=encoder.model_id, dim=str(encoder.dim))
    return IndexRun(library, encoder, settings, progress, passes=passes, pass_progress=pass_progress).run(roots)
