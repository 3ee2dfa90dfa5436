"""The default engine: a thread pool in the indexing process (Pillow, libjpeg and torch release
the GIL, so on a laptop's few cores threads are as fast as processes and start instantly)."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Callable, Iterator

from indexer.catalog import FileWrite
from indexer.encoders.base import Encoder
from indexer.prepare import Prepared, Preparer
from indexer.settings import EngineSettings


def ordered_map(pool: Executor, work: Callable[[FileWrite], Prepared], files: Iterator[FileWrite],
                limit: int) -> Iterator[Prepared]:
    """``work`` over ``files`` on ``pool``, results in input order, at most ``limit`` in flight
    (which bounds memory whatever the library size)."""
    in_flight: deque[Future[Prepared]] = deque()
    for file in files:
        in_flight.append(pool.submit(work, file))
        while len(in_flight) >= limit:
            yield in_flight.popleft().result()
    while in_flight:
        yield in_flight.popleft().result()


class PoolEngine:
    """An engine backed by one local executor, started on first use and shut down by close()."""

    name = "pool"

    def __init__(self, settings: EngineSettings):
        self.workers = settings.workers
        self._pool: Executor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class ThreadEngine(PoolEngine):
    name = "threads"

    def prepare(self, files: Iterator[FileWrite], preparer: Preparer, encoder: Encoder) -> Iterator[Prepared]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="decode")
        return ordered_map(self._pool, preparer, files, self.workers * 4)


def load(settings: EngineSettings) -> ThreadEngine:
    return ThreadEngine(settings)
