"""A library directory: the catalog, the FAISS files, thumbnails, and the writer lock.

    <library>/catalog.db          SQLite (WAL) catalog, see indexer.catalog
    <library>/vectors/index-N.faiss  FAISS index stamped with the catalog generation it holds
    <library>/thumbs/ab/<hash>.webp  thumbnails, one per distinct content
    <library>/.lock               held (flock) by the one process allowed to write
    <library>/generated/<brief>/  generated images (a library root; see indexer.generated)
    <library>/reviews/<item>/     review images and renders, served by item id (indexer.reviews)
    <library>/brief-runs/<job>/   output of brief jobs started over HTTP
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from indexer.catalog import Catalog
from indexer.errors import LibraryBusy, LibraryNotFound, LibraryReadOnly, ModelMismatch

CATALOG_FILE = "catalog.db"


def thumbnail_relpath(content_hash: str) -> str:
    """Where a content's thumbnail lives inside a library (a path workers elsewhere can name too)."""
    return f"thumbs/{content_hash[:2]}/{content_hash}.webp"


def _refuse_non_folder(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise LibraryNotFound(f"{path} is a file, not a library folder.",
                              hint="--library (or $SCOUT_LIBRARY) names a folder; Scout creates it if missing.")


class Library:
    def __init__(self, path: Path, catalog: Catalog):
        self.path = path
        self.catalog = catalog

    @classmethod
    def create_or_open(cls, path: Path) -> "Library":
        path = Path(path).expanduser().resolve()
        _refuse_non_folder(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryReadOnly(f"Cannot create the library folder {path}: {exc.strerror}.",
                                  hint="Choose a writable folder with --library or $SCOUT_LIBRARY.") from None
        catalog = Catalog(path / CATALOG_FILE)  # first: it refuses a folder that is not Scout's
        (path / "vectors").mkdir(exist_ok=True)
        (path / "thumbs").mkdir(exist_ok=True)
        return cls(path, catalog)

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> "Library":
        path = Path(path).expanduser().resolve()
        _refuse_non_folder(path)
        if not (path / CATALOG_FILE).is_file():
            raise LibraryNotFound(
                f"No Scout library at {path}.",
                hint="Create one with `scout index FOLDER --library DIR`, or point --library / "
                "$SCOUT_LIBRARY at an existing library.",
            )
        return cls(path, Catalog(path / CATALOG_FILE, readonly=readonly))

    def close(self) -> None:
        self.catalog.close()

    @property
    def vectors_dir(self) -> Path:
        return self.path / "vectors"

    @property
    def thumbs_dir(self) -> Path:
        return self.path / "thumbs"

    def thumbnail_path(self, content_hash: str) -> Path:
        return self.path / thumbnail_relpath(content_hash)

    @property
    def model_id(self) -> str | None:
        return self.catalog.get_meta("model")

    def check_model(self, model_id: str) -> None:
        """Refuse to mix embeddings of two models in one library."""
        stored = self.model_id
        if stored is not None and stored != model_id:
            raise ModelMismatch(
                f"This library was embedded with model {stored!r}, not {model_id!r}; vectors "
                "from different models cannot be compared.",
                hint=f"Re-embed everything with `scout reindex --model {model_id} --library "
                f"{self.path}`, or leave --model out to use {stored!r}.",
            )

    def last_run(self) -> dict | None:
        """The catalog's last run, with a run whose writer died (kill -9, power loss) reported as
        ``interrupted`` rather than forever ``running``: the lock file names the last writer's
        process, and a run is only running while that process lives."""
        run = self.catalog.last_run()
        if run and run["status"] == "running" and not self._writer_alive():
            run["status"] = "interrupted"
        return run

    def _writer_alive(self) -> bool:
        try:
            pid = int((self.path / ".lock").read_text().strip() or 0)
        except (OSError, ValueError):
            return False
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time; readers never need the lock (SQLite WAL + atomic renames)."""
        try:
            lock_file = open(self.path / ".lock", "a+")
        except OSError as exc:
            raise LibraryReadOnly(f"Cannot write in the library folder {self.path}: {exc.strerror}.",
                                  hint="Searching works read-only; to index, use a writable library folder.") from None
        try:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LibraryBusy(
                    f"Another Scout process is writing to {self.path}.",
                    hint="Wait for that index run to finish; search keeps working meanwhile.",
                ) from None
            lock_file.seek(0)
            lock_file.truncate()
            lock_file.write(str(os.getpid()))
            lock_file.flush()
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
            lock_file.close()
