"""Brief batches over HTTP: submit (a background job), poll, read each brief's manifest.

Runs live in ``<library>/brief-runs/<job id>/`` and are addressed by job id and brief id only,
both checked against strict patterns before they name a folder; candidate images are shown
through the asset endpoints by asset id. Over HTTP the aligner is chosen from an allow-list, no
generator runs (briefs the library cannot serve report "needs generation" with their prompt) and
copy comes from the offline template writer: no request names a model, a folder or an endpoint.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import ServerState, require_read_token, require_write_token, state
from generation.align.threshold import ReuseThreshold
from generation.briefs import parse_briefs
from generation.copy import CopyWriterOptions, load_copy_writer
from generation.manifest import MANIFEST, SUMMARY, read_manifest
from generation.package import package_stages, write_batch_sheet
from generation.retrieve import RetrieveSettings
from generation.run import BriefProgress, run_in_library
from indexer.errors import AssetNotFound, ConfigError
from indexer.jobs import Job

router = APIRouter(prefix="/api", tags=["briefs"])

RUNS_DIR = "brief-runs"
_JOB_ID = re.compile(r"^[0-9a-f]{12}$")
_BRIEF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_BRIEFS = 200


class BriefJobIn(BaseModel):
    briefs: Any = Field(description="One brief (an object) or a list of them; fields as in the README.")
    aligner: Literal["clip"] = "clip"
    reuse_threshold: Optional[float] = Field(None, ge=-100, le=100,
                                             description="Override, in the aligner's scale, for this library's model.")
    include_generated: bool = Field(True, description="False: earlier generated images are not candidates.")
    render: bool = Field(True, description="Render the ad formats of each brief (copy is always written, "
                         "by the offline template writer over HTTP).")


class BriefErrorOut(BaseModel):
    brief: str
    field: str
    message: str


class BriefJobOut(BaseModel):
    id: str
    status: str  # queued, running, completed, failed
    total: int
    done: int
    brief: Optional[str] = None  # the brief being worked on
    stage: Optional[str] = None
    invalid: list[BriefErrorOut] = []
    summary: Optional[dict] = None  # summary.json once there is one
    error: Optional[str] = None


def _runs(s: ServerState) -> Path:
    return s.library.path / RUNS_DIR


def _run_folder(s: ServerState, job_id: str) -> Path:
    if not _JOB_ID.match(job_id):
        raise AssetNotFound(f"No brief job {job_id!r}.")
    return _runs(s) / job_id


def _summary(folder: Path) -> dict | None:
    try:
        return json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _job_out(job_id: str, folder: Path, job: Job | None) -> BriefJobOut:
    summary = _summary(folder)
    if job is None:  # from an earlier server process: what is on disk
        if summary is None:
            raise AssetNotFound(f"No brief job {job_id!r}.")
        status = "completed" if summary.get("finished") == summary.get("total") else "interrupted"
        return BriefJobOut(id=job_id, status=status, total=summary.get("total", 0), done=summary.get("finished", 0),
                           summary=summary)
    progress = job.progress or {}
    invalid = [BriefErrorOut(**e) for e in (job.result or {}).get("invalid", [])] if isinstance(job.result, dict) else []
    return BriefJobOut(id=job.id, status=job.status, total=progress.get("total", 0), done=progress.get("done", 0),
                       brief=progress.get("brief"), stage=progress.get("stage"), invalid=invalid, summary=summary,
                       error=job.error)


@router.post("/brief-jobs", response_model=BriefJobOut, status_code=202, dependencies=[Depends(require_write_token)],
             summary="Run a brief or a batch in the background")
def start_brief_job(body: BriefJobIn, s: ServerState = Depends(state)) -> BriefJobOut:
    if isinstance(body.briefs, list) and len(body.briefs) > MAX_BRIEFS:  # before validating each
        raise ConfigError(f"At most {MAX_BRIEFS} briefs per job, got {len(body.briefs)}.",
                          hint="Split the batch into several jobs.")
    batch = parse_briefs(body.briefs, "request")
    invalid = [{"brief": e.brief, "field": e.field, "message": e.message} for e in batch.errors]
    if not batch.briefs:
        raise ConfigError("No valid brief in the request: " + "; ".join(str(e) for e in batch.errors),
                          hint="Each brief needs at least an id and a subject; see /docs.")
    if len(batch.briefs) > MAX_BRIEFS:
        raise ConfigError(f"At most {MAX_BRIEFS} briefs per job, got {len(batch.briefs)}.")
    threshold = None
    if body.reuse_threshold is not None:
        threshold = ReuseThreshold(body.reuse_threshold, f"{body.aligner}:{s.library.model_id}", "request")
    library_path, encoder = s.library.path, s.searcher.encoder
    total = len(batch.briefs)

    def work(report) -> tuple[str, Any]:
        report({"total": total, "done": 0})

        def progress(event: BriefProgress) -> None:
            finished = event.stage in ("done", "skipped")
            report({"total": total, "done": event.index if finished else event.index - 1,
                    "brief": event.brief_id, "stage": event.stage})

        run_in_library(library_path, encoder, batch.briefs, batch.errors, folder, aligner=body.aligner,
                       threshold=threshold, progress=progress,
                       extra_stages=lambda lib: package_stages(load_copy_writer("template", CopyWriterOptions()),
                                                               lib, encoder, render=body.render),
                       after_batch=[write_batch_sheet],
                       retrieve_settings=RetrieveSettings(include_generated=body.include_generated))
        return "completed", {"invalid": invalid}

    job_id = uuid.uuid4().hex[:12]
    folder = _runs(s) / job_id
    # One brief job at a time (like index runs): each renders and embeds, and a second one queued
    # behind it gets a clear 409 rather than halving the speed of both.
    job = s.jobs.submit("briefs", work, writes=True, job_id=job_id)
    out = _job_out(job.id, folder, s.jobs.get(job.id))
    return out.model_copy(update={"invalid": [BriefErrorOut(**e) for e in invalid], "total": total})


@router.get("/brief-jobs", response_model=list[BriefJobOut], dependencies=[Depends(require_read_token)],
            summary="Brief jobs of this library, newest first")
def list_brief_jobs(s: ServerState = Depends(state)) -> list[BriefJobOut]:
    live = {j.id: j for j in s.jobs.jobs("briefs")}
    folders = [p for p in _runs(s).iterdir() if _JOB_ID.match(p.name)] if _runs(s).is_dir() else []
    ids = set(live) | {p.name for p in folders}
    mtime = {p.name: p.stat().st_mtime for p in folders}
    ordered = sorted(ids, key=lambda i: mtime.get(i, float("inf")), reverse=True)
    jobs = []
    for job_id in ordered[:100]:
        try:
            jobs.append(_job_out(job_id, _runs(s) / job_id, live.get(job_id)))
        except AssetNotFound:
            continue
    return jobs


@router.get("/brief-jobs/{job_id}", response_model=BriefJobOut, dependencies=[Depends(require_read_token)],
            summary="Progress and summary of a brief job")
def get_brief_job(job_id: str, s: ServerState = Depends(state)) -> BriefJobOut:
    folder = _run_folder(s, job_id)
    job = s.jobs.get(job_id)
    return _job_out(job_id, folder, job if job is not None and job.kind == "briefs" else None)


@router.get("/brief-jobs/{job_id}/briefs/{brief_id}", dependencies=[Depends(require_read_token)],
            summary="One brief's manifest: candidates (asset ids), scores, breakdown, decision")
def get_brief_manifest(job_id: str, brief_id: str, s: ServerState = Depends(state)) -> dict:
    folder = _run_folder(s, job_id)
    if not _BRIEF_ID.match(brief_id):
        raise AssetNotFound(f"No brief {brief_id!r} in job {job_id}.")
    manifest = read_manifest(folder / brief_id)
    if manifest is None:
        raise AssetNotFound(f"No finished brief {brief_id!r} in job {job_id}.",
                            hint=f"Poll GET /api/brief-jobs/{job_id}; {MANIFEST} appears when the brief is done.")
    return manifest
