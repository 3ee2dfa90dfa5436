"""Worker processes for the per-file work, for machines with many cores.

Threads stop scaling where per-file Python work holds the GIL (hashing bookkeeping, thumbnail
and transform glue): on a 16-core GPU machine 32 decode threads were slower than 16 (issue #12).
Processes are forked, so each inherits the preparer (the encoder's transform, the known
hashes) without pickling or re-importing torch; each runs torch single-threaded, as PyTorch's
own DataLoader workers do, which also keeps forked OpenMP pools out of trouble. Model inputs
come back as numpy arrays (plain pickles; torch tensors would travel as shared-memory file
descriptors, which run out on long runs).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

from indexer.catalog import FileWrite
from indexer.encoders.base import Encoder
from indexer.engines.threads import PoolEngine, ordered_map
from indexer.errors import ConfigError
from indexer.prepare import Prepared, Preparer
from indexer.settings import EngineSettings

_preparer: Preparer | None = None  # set in each worker process by _start_worker, never in the driver


def _start_worker(preparer: Preparer) -> None:
    import torch

    global _preparer
    torch.set_num_threads(1)
    _preparer = preparer


def _prepare_in_worker(file: FileWrite) -> Prepared:
    assert _preparer is not None
    return _preparer(file).portable()


class ProcessEngine(PoolEngine):
    name = "processes"

    def __init__(self, settings: EngineSettings):
        if "fork" not in multiprocessing.get_all_start_methods():
            raise ConfigError("--engine processes needs fork() (Linux or macOS).",
                              hint="Use --engine threads on this platform.")
        super().__init__(settings)

    def prepare(self, files: Iterator[FileWrite], preparer: Preparer, encoder: Encoder) -> Iterator[Prepared]:
        try:
            first = next(files)  # the run fills preparer.known_hashes before the first file
        except StopIteration:
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_start_worker, initargs=(preparer.ready(),))

        def everything() -> Iterator[FileWrite]:
            yield first
            yield from files

        try:
            yield from ordered_map(self._pool, _prepare_in_worker, everything(), self.workers * 4)
        except BrokenProcessPool:
            raise ConfigError(
                "A decode worker process died (killed, or out of memory); nothing after the last "
                "commit was recorded.",
                hint="Run scout index again: it resumes where this run stopped. Fewer --workers use less memory.",
            ) from None


def load(settings: EngineSettings) -> ProcessEngine:
    return ProcessEngine(settings)
