"""The review panel and the report over HTTP.

Reads (queue, item, files, report) use the server's read-only library; writes (a rating, manual
work) open a writable handle for the one transaction and need the API token whenever the server
has one (beyond loopback). Files are served by item id (and a format the catalog lists for that
item), never by a path from the request. Uploads of manual work obey the same byte and pixel
limits as example images.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from typing import Annotated, Iterator, Optional

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ServerState, require_read_token, require_write_token, state
from api.routes.search import read_upload
from generation.package import library_report
from generation.report import plot
from indexer.errors import ConfigError
from indexer.library import Library
from indexer.reviews import MAX_COMMENT, MAX_HOURS, ReviewDesk
from search import reviews
from search.reviews import ReviewView

router = APIRouter(prefix="/api", tags=["reviews"])

ItemId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A review item id from the queue.")]
Reviewer = Annotated[Optional[str], Query(max_length=64, description="Your reviewer name.")]
FormatName = Annotated[str, Path(pattern=r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$", description="A format, e.g. 1080x1080.")]


class RenderOut(BaseModel):
    format: str
    url: str


class ItemOut(BaseModel):
    id: int
    destination: str
    headline: str
    body: str
    cta: str
    image_url: Optional[str]
    renders: list[RenderOut]
    revealed: bool = Field(description="Whether this reviewer has rated the item: only then are arm and provenance shown.")
    arm: Optional[str] = Field(None, description="ai_reused, ai_generated or manual; null until rated.")
    provenance: Optional[dict] = None
    rating: Optional[dict] = Field(None, description="This reviewer's rating of the item.")

    @classmethod
    def of(cls, view: ReviewView) -> "ItemOut":
        base = f"/api/reviews/items/{view.id}"
        return cls(id=view.id, destination=view.destination, headline=view.headline, body=view.body, cta=view.cta,
                   image_url=f"{base}/image" if view.has_image else None,
                   renders=[RenderOut(format=f, url=f"{base}/renders/{f}") for f in view.formats],
                   revealed=view.revealed, arm=view.arm, provenance=view.provenance, rating=view.rating)


class QueueOut(BaseModel):
    reviewer: str
    rated: int
    total: int
    items: list[ItemOut] = Field(description="Not yet rated by this reviewer, blind, in their order.")


class RatingIn(BaseModel):
    reviewer: str = Field(min_length=1, max_length=64)
    rating: int = Field(ge=1, le=5)
    approved: bool
    comment: str = Field("", max_length=MAX_COMMENT)
    seconds: float = Field(0.0, ge=0, le=86_400, description="Time spent on this item.")


class ManualOut(BaseModel):
    item_id: int
    added: bool = Field(description="False when the same work was entered before.")


MAX_MANUAL_FILES = 10


@contextmanager
def _desk(s: ServerState) -> Iterator[ReviewDesk]:
    library = Library.open(s.library.path)
    try:
        yield ReviewDesk(library, max_pixels=int(s.settings.max_upload_megapixels * 1e6))
    finally:
        library.close()


# Queue and items carry ratings and, once rated, the arm: a reviewer name is not a login, so
# beyond loopback they need the token like writes do (images and renders stay plain reads).
@router.get("/reviews/queue", response_model=QueueOut, dependencies=[Depends(require_write_token)],
            summary="A reviewer's blind queue")
def review_queue(reviewer: Annotated[str, Query(min_length=1, max_length=64)],
                 s: ServerState = Depends(state)) -> QueueOut:
    done = reviews.progress(s.library, reviewer)
    items = [ItemOut.of(v) for v in reviews.queue(s.library, reviewer)]
    return QueueOut(reviewer=done["reviewer"], rated=done["rated"], total=done["total"], items=items)


@router.get("/reviews/items/{item_id}", response_model=ItemOut, dependencies=[Depends(require_write_token)],
            summary="One item; arm and provenance only once this reviewer has rated it")
def review_item(item_id: ItemId, reviewer: Reviewer = None, s: ServerState = Depends(state)) -> ItemOut:
    return ItemOut.of(reviews.item_for(s.library, item_id, reviewer))


@router.post("/reviews/items/{item_id}/rating", response_model=ItemOut, dependencies=[Depends(require_write_token)],
             summary="Rate an item 1-5 and approve or reject it (again: replaces your rating)")
def rate_item(item_id: ItemId, body: RatingIn, s: ServerState = Depends(state)) -> ItemOut:
    with _desk(s) as desk:
        desk.rate(item_id, body.reviewer, body.rating, body.approved, body.comment, body.seconds)
        return ItemOut.of(reviews.item_for(desk.library, item_id, body.reviewer))


@router.get("/reviews/items/{item_id}/image", dependencies=[Depends(require_read_token)],
            response_class=FileResponse, summary="The item's image (JPEG)")
def item_image(item_id: ItemId, s: ServerState = Depends(state)) -> FileResponse:
    media_type, path = reviews.item_file(s.library, item_id)
    return FileResponse(path, media_type=media_type)


@router.get("/reviews/items/{item_id}/renders/{fmt}", dependencies=[Depends(require_read_token)],
            response_class=FileResponse, summary="One rendered format of the item (JPEG)")
def item_render(item_id: ItemId, fmt: FormatName, s: ServerState = Depends(state)) -> FileResponse:
    media_type, path = reviews.item_file(s.library, item_id, fmt)
    return FileResponse(path, media_type=media_type)


@router.post("/reviews/manual", response_model=ManualOut, status_code=201, dependencies=[Depends(require_write_token)],
             summary="Enter manual baseline work (finished ads, one file per format) and its hours")
async def add_manual(destination: Annotated[str, Form(max_length=64)], headline: Annotated[str, Form(max_length=500)],
                     files: Annotated[list[UploadFile], File(description="Finished ads, one per format.")],
                     body: Annotated[str, Form(max_length=2000)] = "", cta: Annotated[str, Form(max_length=200)] = "",
                     hours: Annotated[Optional[float], Form(gt=0, le=MAX_HOURS)] = None,
                     s: ServerState = Depends(state)) -> ManualOut:
    if len(files) > MAX_MANUAL_FILES:  # each file is decoded twice and written twice
        raise ConfigError(f"At most {MAX_MANUAL_FILES} files per manual entry (one per format), got {len(files)}.")
    images = [(f.filename or "upload", await read_upload(f, s)) for f in files]

    def enter() -> ManualOut:
        with _desk(s) as desk:
            result = desk.add_manual(destination, images, headline, body, cta, hours, source="upload")
        return ManualOut(item_id=(result.added or result.kept)[0], added=bool(result.added))

    return await run_in_threadpool(enter)


@router.get("/report", dependencies=[Depends(require_read_token)], summary="The review report (every figure)")
def report(s: ServerState = Depends(state)) -> dict:
    return library_report(s.library).to_dict()


@router.get("/report/plot.svg", dependencies=[Depends(require_read_token)], response_class=Response,
            summary="Mean rating per arm with 95 % CI (SVG)")
def report_plot(s: ServerState = Depends(state)) -> Response:
    buffer = io.StringIO()
    plot(library_report(s.library)).savefig(buffer, format="svg", metadata={"Date": None})
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
