"""The interface an index engine implements: turn changed files into :class:`Prepared` items.

An index run keeps everything that writes on its own thread (the catalog, the FAISS snapshot, the
content passes); an engine only decides *where* the per-file work of :class:`Preparer` runs
(threads here, worker processes here, a Ray cluster) and, optionally, where embedding runs. Items
come back in the order the files went in, so every engine gives the same, deterministic catalog.
"""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

from indexer.catalog import FileWrite
from indexer.encoders.base import Encoder
from indexer.prepare import Prepared, Preparer


@runtime_checkable
class Engine(Protocol):
    name: str

    def prepare(self, files: Iterator[FileWrite], preparer: Preparer, encoder: Encoder) -> Iterator[Prepared]:
        """One :class:`Prepared` per file, in the order given, with a bounded number in flight.

        ``files`` is lazy and the run fills ``preparer.known_hashes`` before it yields its first
        file: an engine that copies the preparer to other processes does so after pulling one.
        An engine that embeds (``Prepared.vector``) loads the model from ``encoder.model_id``.
        """

    def close(self) -> None:
        """Stop workers and release what the engine started; called once, when the run ends."""
