from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Query

from api.deps import ServerState, require_read_token, require_write_token, state
from api.schemas import DuplicatesOut, IndexJobIn, IndexJobOut, StatusOut
from indexer.errors import AssetNotFound
from indexer.jobs import Job
from search.status import library_status

router = APIRouter(prefix="/api", tags=["library"])

# Groups per page of /api/duplicates: an archive can hold tens of thousands of groups, and the
# page renders a card with thumbnails for each.
DUPLICATES_PAGE = 50
MAX_DUPLICATES_PAGE = 500
MAX_OFFSET = 10_000_000


@router.get("/status", response_model=StatusOut, dependencies=[Depends(require_read_token)],
            summary="What the library holds")
def status(s: ServerState = Depends(state)) -> StatusOut:
    s.searcher.refresh()
    info = library_status(s.library)
    return StatusOut(**info.as_dict(), generation=info.catalog_generation, read_only=True)


def _job_out(job: Job) -> IndexJobOut:
    st = job.stats
    return IndexJobOut(id=job.id, status=job.status, paths=job.paths, found=st.found,
                       embedded=st.embedded, reused=st.reused, unchanged=st.unchanged,
                       failed=st.failed, removed=st.removed, error=job.error)


@router.get("/duplicates", response_model=DuplicatesOut, dependencies=[Depends(require_read_token)],
            summary="Exact and near-duplicate clusters, each with a suggested keeper (nothing is deleted)")
def duplicates(exact: bool = Query(False, description="Only identical files at several paths."),
               offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Groups to skip (largest groups come first)."),
               limit: int = Query(DUPLICATES_PAGE, ge=1, le=MAX_DUPLICATES_PAGE, description="Groups to return."),
               version: Optional[int] = Query(None, ge=0, le=2**53, description=(
                   "The version the first page answered: later pages come from the same report, or are "
                   "refused with 409 once the library has changed twice since (or the server restarted).")),
               s: ServerState = Depends(state)) -> DuplicatesOut:
    from search.duplicates import DuplicateSettings, cluster_json

    version, report = s.duplicates.report(s.library, DuplicateSettings(exact_only=exact), version)
    return DuplicatesOut(clusters=[cluster_json(c) for c in report.page(offset, limit)], total=len(report.clusters),
                         files=report.extra_files, offset=offset, version=version,
                         has_more=offset + limit < len(report.clusters), contents=report.contents,
                         unhashed=report.unhashed)


@router.post("/index-jobs", response_model=IndexJobOut, status_code=202,
             dependencies=[Depends(require_write_token)], summary="Start an index run in the background")
def start_job(body: IndexJobIn, s: ServerState = Depends(state)) -> IndexJobOut:
    return _job_out(s.jobs.start(body.paths))


@router.get("/index-jobs/{job_id}", response_model=IndexJobOut,
            dependencies=[Depends(require_read_token)], summary="Progress of an index run")
def get_job(job_id: str, s: ServerState = Depends(state)) -> IndexJobOut:
    job = s.jobs.get(job_id)
    if job is None or job.kind != "index":
        raise AssetNotFound(f"No index job {job_id!r}.")
    return _job_out(job)
