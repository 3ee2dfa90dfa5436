"""Background jobs started from the HTTP API: index runs, brief batches, whatever comes next.

A job is a callable run in its own thread, reporting progress through a callback; the runner keeps
a pollable copy of that progress, the job's result and its error. Jobs that write to the library
(index runs, brief batches that generate images) run one at a time per library; read-only jobs run
alongside. Across processes the library's writer lock still applies (a job then fails with
``LibraryBusy``).

An index job opens its own writable Library (the server's is read-only) and shares the server's
loaded encoder (inference is thread-safe). Its progress is a copy of the run's RunStats.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from indexer.encoders.base import Encoder
from indexer.errors import LibraryBusy, ScoutError
from indexer.library import Library
from indexer.metadata import librarian_passes
from indexer.ocr.content_pass import ocr_passes
from indexer.pipeline import IndexRun, RunStats
from indexer.settings import IndexSettings

Report = Callable[[Any], None]
# The work of a job: given a progress callback, do it and return (final status, result).
Work = Callable[[Report], tuple[str, Any]]


@dataclass
class Job:
    id: str
    kind: str = "index"  # "index", "briefs", ...
    status: str = "queued"  # queued, running, then the work's own final status, or failed
    progress: Any = None  # the latest value the work reported (RunStats for index jobs)
    result: Any = None
    error: str | None = None
    writes: bool = True
    paths: list[str] = field(default_factory=list)  # index jobs: the folders indexed

    @property
    def stats(self) -> RunStats:
        """An index job's counters (empty before the first report)."""
        return self.progress if isinstance(self.progress, RunStats) else RunStats()

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


class JobRunner:
    def __init__(self, library_path: Path, encoder: Encoder, settings: IndexSettings | None = None, *,
                 ocr_default: bool = True):
        self.library_path = library_path
        self.encoder = encoder
        self.settings = settings or IndexSettings()
        self.ocr_default = ocr_default  # for libraries that never chose (indexer.ocr.content_pass)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()  # start() submits while holding it

    def submit(self, kind: str, work: Work, *, writes: bool, job_id: str | None = None) -> Job:
        """Start ``work`` in a background thread; refused while another writing job runs."""
        with self._lock:
            if writes and any(j.writes and j.active for j in self._jobs.values()):
                raise LibraryBusy("A job that writes to this library is already running.",
                                  hint="Poll its status until it finishes, then try again.")
            job = Job(job_id or uuid.uuid4().hex[:12], kind, writes=writes)
            self._jobs[job.id] = job
            threading.Thread(target=self._run, args=(job, work), daemon=True, name=f"{kind}-job-{job.id}").start()
            return job

    def start(self, paths: list[str]) -> Job:
        """An index run over ``paths`` (default: the library's roots)."""
        holder: dict[str, Job] = {}

        def work(report: Report) -> tuple[str, Any]:
            library = Library.create_or_open(self.library_path)
            try:
                folders = [Path(p) for p in paths] or [Path(r) for r in library.catalog.roots()]
                with self._lock:
                    holder["job"].paths = [str(p) for p in folders]
                passes = librarian_passes(self.settings) + ocr_passes(library, self.settings, default=self.ocr_default)
                result = IndexRun(library, self.encoder, self.settings, progress=report, passes=passes).run(folders)
                report(result.stats)
                return result.status, None
            finally:
                library.close()

        with self._lock:  # the job must not report before the holder knows it
            job = self.submit("index", work, writes=True)
            job.paths = list(paths)
            holder["job"] = job
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else replace(job, progress=copy.copy(job.progress))

    def jobs(self, kind: str | None = None) -> list[Job]:
        with self._lock:
            return [replace(j, progress=copy.copy(j.progress)) for j in self._jobs.values()
                    if kind is None or j.kind == kind]

    def _report(self, job: Job, progress: Any) -> None:
        with self._lock:
            job.progress = copy.copy(progress)

    def _run(self, job: Job, work: Work) -> None:
        with self._lock:
            job.status = "running"
        try:
            status, result = work(lambda progress: self._report(job, progress))
            with self._lock:
                job.status, job.result = status, result
        except ScoutError as exc:
            with self._lock:
                job.status, job.error = "failed", str(exc)
        except Exception as exc:  # a bug must surface in the job, not kill the server
            with self._lock:
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
