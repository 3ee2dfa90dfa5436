"""Index runs started from the HTTP API: one at a time, in a background thread, pollable.

The job opens its own writable Library (the server's is read-only) and its own encoder handle
(the same loaded model object is shared; inference is thread-safe). Progress is a copy of the
run's RunStats, refreshed by the pipeline's progress callback.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexer.encoders.base import Encoder
from indexer.errors import LibraryBusy, ScoutError
from indexer.library import Library
from indexer.pipeline import IndexRun, RunStats
from indexer.settings import IndexSettings


@dataclass
class Job:
    id: str
    paths: list[str]
    status: str = "queued"
    stats: RunStats = field(default_factory=RunStats)
    error: str | None = None


class JobRunner:
    def __init__(self, library_path: Path, encoder: Encoder, settings: IndexSettings | None = None):
        self.library_path = library_path
        self.encoder = encoder
        self.settings = settings or IndexSettings()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, paths: list[str]) -> Job:
        with self._lock:
            if self._thread and self._thread.is_alive():
                raise LibraryBusy("An index job is already running.",
                                  hint="Poll GET /api/index-jobs/{id} until it finishes.")
            job = Job(uuid.uuid4().hex[:12], paths)
            self._jobs[job.id] = job
            self._thread = threading.Thread(target=self._run, args=(job,), daemon=True,
                                            name=f"index-job-{job.id}")
            self._thread.start()
            return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else replace(job, stats=replace(job.stats))

    def _progress(self, job: Job, stats: RunStats) -> None:
        with self._lock:
            job.stats = replace(stats)

    def _run(self, job: Job) -> None:
        library = None
        try:
            library = Library.create_or_open(self.library_path)
            paths = [Path(p) for p in job.paths] or [Path(r) for r in library.catalog.roots()]
            job.paths = [str(p) for p in paths]
            with self._lock:
                job.status = "running"
            result = IndexRun(library, self.encoder, self.settings,
                              progress=lambda s: self._progress(job, s)).run(paths)
            with self._lock:
                job.stats, job.status = replace(result.stats), result.status
        except ScoutError as exc:
            with self._lock:
                job.status, job.error = "failed", str(exc)
        except Exception as exc:  # a bug must surface in the job, not kill the server
            with self._lock:
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            if library is not None:
                library.close()
