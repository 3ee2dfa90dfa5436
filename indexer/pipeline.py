"""An index run: scan -> read + hash -> decode -> encode in batches -> commit -> FAISS snapshot
-> content passes (OCR, embedded metadata, ...: :mod:`indexer.passes`).

Reading, hashing, decoding, thumbnailing and preprocessing (:mod:`indexer.prepare`) run on an
engine's workers (:mod:`indexer.engines`: a thread pool by default, worker processes, a Ray
cluster); the calling thread encodes batches (unless the engine embedded already) and is the one
catalog writer, so model compute overlaps decoding and a crash loses at most one uncommitted
batch whatever runs the work. Results are consumed in scan order, so a run is deterministic.

Change detection is stat-only: a path whose size and mtime match the catalog is not opened. A
changed or new path is hashed; a hash the catalog already has a vector for (a rename, a move, a
copy) is recorded without decoding.

With the model on a GPU, baseline JPEGs skip the CPU decode altogether (``--gpu-decode``):
workers only read, hash and parse the header, and :mod:`indexer.device_batches` decodes them on
the GPU while this thread goes on consuming; a JPEG the GPU refuses takes the CPU path there.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from indexer import vectors
from indexer.catalog import Batch, ContentWrite, FailureWrite, FileWrite, KnownFile
from indexer.device_batches import DeviceBatches, DeviceInputs
from indexer.encoders.base import Encoder
from indexer.engines import load_engine
from indexer.engines.base import Engine
from indexer.errors import ConfigError, DecodeError
from indexer.library import Library
from indexer.passes import ContentPass, PassProgress, PassStats, run_passes
from indexer.prepare import LazyTransform, Prepared, Preparer, content_hash, write_thumbnail
from indexer.scan import ScannedFile, ScanProblem, walk
from indexer.settings import EngineSettings, IndexSettings
from indexer.tagging.tagger import TagRunStats, tag_new_contents

__all__ = ["IndexRun", "RunResult", "RunStats", "content_hash", "reembed", "resolve_roots"]


@dataclass
class RunStats:
    """Counters a progress display shows; ``done`` counts files fully handled this run."""

    found: int = 0
    unchanged: int = 0
    embedded: int = 0
    reused: int = 0
    failed: int = 0
    ignored: int = 0
    on_device: int = 0  # of the embedded, how many were decoded on the model's device
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
    """One index run over some roots. ``engine`` runs the per-file work (default: a thread pool
    of ``settings.decode_workers``); the run closes it when it ends."""

    def __init__(
        self,
        library: Library,
        encoder: Encoder,
        settings: IndexSettings | None = None,
        progress: Progress | None = None,
        retry_failed: bool = False,
        passes: Sequence[ContentPass] = (),
        pass_progress: PassProgress | None = None,
        engine: Engine | None = None,
    ):
        self.library = library
        self.catalog = library.catalog
        self.encoder = encoder
        self.settings = settings or IndexSettings()
        self.engine = engine
        self.progress = progress or (lambda stats: None)
        self.retry_failed = retry_failed
        self.passes = passes
        self.pass_progress = pass_progress
        self.pass_stats: list[PassStats] = []
        self.tag_stats: TagRunStats | None = None
        self.stats = RunStats()
        self.batch = Batch()
        self.pending: list[Prepared] = []
        self.pending_hashes: set[str] = set()
        self.known_hashes: set[str] = set()  # contents with a vector; filled when a changed file shows up
        self._hashes_loaded = False
        self.device: DeviceBatches | None = None  # GPU decoding of routed JPEGs (--gpu-decode)
        self._preparer: Preparer | None = None

    def run(self, roots: list[Path]) -> RunResult:
        resolved = resolve_roots(roots)
        with self.library.writer_lock():
            self.library.check_model(self.encoder.model_id)
            if self.library.model_id is None:
                self.catalog.set_meta(model=self.encoder.model_id, dim=str(self.encoder.dim))
            self._preparer = Preparer(LazyTransform(self.encoder), self.library.path, self.settings,
                                      self.known_hashes)
            if self.settings.gpu_decode == "on":  # asked for: refused before the run starts if it cannot be
                try:
                    self._start_device()
                except ConfigError:
                    if self.engine is not None:
                        self.engine.close()
                    raise
            self.catalog.add_roots(resolved)
            run_id = self.catalog.start_run(self.encoder.model_id, resolved)
            status = "interrupted"
            engine = self.engine or load_engine(EngineSettings(workers=self.settings.decode_workers))
            try:
                try:
                    for root in resolved:
                        self._index_root(root, engine, self._preparer)
                finally:
                    engine.close()
                    if self.device is not None:
                        self.device.close()
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
            if not self._hashes_loaded:
                self._first_change()
            yield FileWrite(item.path, root, item.size, item.mtime_ns)

    def _first_change(self) -> None:
        """What only a run with something to do pays for, done before its first changed file
        reaches an engine: the hashes the catalog has vectors for, and (with ``--gpu-decode
        auto``) whether the model's device decodes JPEGs, which asks torch where the model runs."""
        self.known_hashes.update(self.catalog.embedded_hashes())
        self._hashes_loaded = True
        if self.settings.gpu_decode == "auto":
            self._start_device()

    def _start_device(self) -> None:
        assert self._preparer is not None
        self.device = DeviceBatches.for_run(self.settings, self.encoder.device, self._preparer.transform,
                                            getattr(self.engine, "name", "threads"), self.library.path)
        self._preparer.route_jpegs = self.device is not None

    def _index_root(self, root: str, engine: Engine, preparer: Preparer) -> None:
        known = self.catalog.known_files(root)
        seen: set[str] = set()
        for item in engine.prepare(self._changed_files(root, known, seen), preparer, self.encoder):
            self._consume(item)
        self._flush()
        self.stats.removed += self.catalog.forget(known.keys() - seen)
        self.progress(self.stats)

    def _consume(self, item: Prepared) -> None:
        self.stats.current = item.file.path
        if item.kind == "failed":
            self._record_failure(item.file, item.error)
        elif item.kind == "ignored":
            self.batch.ignored.append(item.file)
            self.stats.ignored += 1
        elif item.kind == "reused" or item.hash in self.pending_hashes or item.hash in self.known_hashes:
            self.batch.assets.append((item.file, item.hash))
            self.stats.reused += 1
        elif item.vector is not None:  # the engine embedded it already
            self._store(item, item.vector)
            self.stats.embedded += 1
        else:
            self.pending.append(item)
            self.pending_hashes.add(item.hash)
            if item.jpeg is not None:
                self.device.add(item)
            if len(self.pending) >= self.settings.batch_size:
                self._encode_pending()
        if len(self.batch) >= self.settings.commit_every:
            self._flush()
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

    def _encode_pending(self) -> None:
        if not self.pending:
            return
        device = self._device_inputs() if self.device is not None else None
        ready = device.ready if device is not None else self.pending
        if ready:
            import torch  # here, not at the top: a run with nothing to embed never pays its import

            tensors = [torch.as_tensor(p.tensor) for p in ready]
            if self.device is not None:  # CPU-path inputs join the device's in one batch
                tensors = [t.to(self.device.device) for t in tensors]
            embeddings = self.encoder.encode_images(torch.stack(tensors))
            if device is not None:
                device.finish_thumbnails()
            for item, vector in zip(ready, embeddings):
                self._store(item, vector)
        self.stats.embedded += len(ready)
        self.pending = []
        self.pending_hashes = set()

    def _device_inputs(self) -> DeviceInputs:
        """The batch's inputs from the GPU decoder; a file neither it nor the CPU path could
        decode is recorded as failed, and so is every copy that was counted as reusing it."""
        assert self.device is not None and self._preparer is not None
        inputs = self.device.inputs(self.pending, self._preparer)
        self.stats.on_device += inputs.decoded_on_device
        for item, error in inputs.refused.values():
            self._record_failure(item.file, error)
        if inputs.refused:
            kept = []
            for file, digest in self.batch.assets:
                if digest in inputs.refused:
                    self._record_failure(file, inputs.refused[digest][1])
                    self.stats.reused -= 1
                else:
                    kept.append((file, digest))
            self.batch.assets = kept
        return inputs

    def _store(self, item: Prepared, vector) -> None:
        thumbnail = item.thumbnail
        if thumbnail is None and item.thumbnail_data is not None:
            thumbnail = write_thumbnail(self.library.path, item.hash, item.thumbnail_data)
        self.batch.contents.append(ContentWrite(
            item.hash, item.format, item.width, item.height, item.mode, vector, thumbnail))
        self.batch.assets.append((item.file, item.hash))
        self.known_hashes.add(item.hash)

    def _flush(self) -> None:
        """Commit everything handled so far; a batch is the unit a kill -9 can lose."""
        self._encode_pending()
        if len(self.batch):
            self.catalog.commit_batch(self.batch)
            self.batch = Batch()

    def _write_index_snapshot(self) -> None:
        generation = self.catalog.generation
        newest = vectors.newest_index_file(self.library.vectors_dir)
        if newest and newest[1] == generation and vectors.snapshot_is_readable(newest[0]):
            return  # a damaged one is rewritten even when nothing changed
        index = vectors.updated_snapshot(self.catalog, self.library.vectors_dir, self.encoder.dim)
        vectors.save_index(index, self.library.vectors_dir, generation)
        self.catalog.set_meta(index_type=vectors.describe(index))


def reembed(library: Library, encoder: Encoder, settings: IndexSettings | None = None,
            progress: Progress | None = None, passes: Sequence[ContentPass] = (),
            pass_progress: PassProgress | None = None, engine: Engine | None = None) -> RunResult:
    """Switch a library to another model: forget every vector, then index all roots again (the
    content passes' rows stay: they do not depend on the model)."""
    roots = [Path(r) for r in library.catalog.roots()]
    with library.writer_lock():
        library.catalog.clear_vectors()
        library.catalog.set_meta(model=encoder.model_id, dim=str(encoder.dim))
    return IndexRun(library, encoder, settings, progress, passes=passes, pass_progress=pass_progress,
                    engine=engine).run(roots)
