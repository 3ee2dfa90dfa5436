"""Shared request plumbing: the server's state, token checks, and the common search parameters."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from typing import Annotated, Optional

from fastapi import Depends, Path, Query as Q, Request

from indexer.errors import Forbidden, Unauthorized
from indexer.jobs import JobRunner
from indexer.library import Library
from indexer.ocr import default_switch
from search.duplicates import ReportCache
from search.engine import Searcher
from search.examples import ExampleStore
from search.query import (
    MAX_ASSET_ID, Example, Filters, Query, example_from_ref, parse_capture_range, parse_source, parse_text,
    split_formats,
    split_tags,
)


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    token: Optional[str] = None  # required for writes whenever set
    require_token_for_reads: bool = False
    max_upload_bytes: int = 25 * 1024 * 1024
    max_upload_megapixels: float = 60.0
    allowed_hosts: tuple[str, ...] = ()  # host names served besides loopback ones (--allow-host)
    # index jobs read text in images of libraries that never chose (--ocr/--no-ocr): $SCOUT_OCR, else on
    ocr_default: bool = field(default_factory=lambda: default_switch(os.environ))


@dataclass
class ServerState:
    settings: ServerSettings
    library: Library
    searcher: Searcher
    examples: ExampleStore
    jobs: JobRunner
    duplicates: ReportCache = field(default_factory=ReportCache)


def state(request: Request) -> ServerState:
    return request.app.state.scout


def _check_token(request: Request, expected: str) -> None:
    sent = request.headers.get("x-scout-token")
    auth = request.headers.get("authorization", "")
    if not sent and auth.lower().startswith("bearer "):
        sent = auth[7:].strip()
    if not sent and request.method == "GET":
        sent = request.query_params.get("token")  # <img src> cannot send headers
    if not sent:
        raise Unauthorized("This server needs an API token.",
                           hint="Send it as 'Authorization: Bearer TOKEN' or 'X-Scout-Token: TOKEN' "
                           "(or ?token=TOKEN on GET requests, as the web UI does for images).")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("Wrong API token.")


def require_write_token(request: Request, s: ServerState = Depends(state)) -> None:
    if s.settings.token:
        _check_token(request, s.settings.token)


def require_read_token(request: Request, s: ServerState = Depends(state)) -> None:
    if s.settings.token and s.settings.require_token_for_reads:
        _check_token(request, s.settings.token)


@dataclass
class SearchParams:
    q: str
    minus: list[str]
    like: list[str]
    example: list[str]
    folder: Optional[str]
    orientation: Optional[str]
    min_width: Optional[int]
    min_height: Optional[int]
    format: list[str]
    limit: int
    offset: int
    all: bool
    min_relevance: Optional[float]
    min_score: Optional[float]
    source: str = "any"
    mode: str = "hybrid"
    captured_from: Optional[str] = None
    captured_to: Optional[str] = None
    camera: Optional[str] = None
    gps: Optional[bool] = None
    exclude_restricted: bool = False
    tag: list[str] = field(default_factory=list)
    safety: Optional[str] = None

    def to_query(self, uploads: list[Example] = ()) -> Query:
        captured = parse_capture_range(self.captured_from, self.captured_to)
        return Query(
            parts=parse_text(self.q, self.minus),
            examples=tuple(example_from_ref(ref, allow_paths=False) for ref in self.like) + tuple(uploads),
            filters=Filters(folder=self.folder or None, orientation=self.orientation or None,
                            captured_from=captured[0], captured_to=captured[1], camera=self.camera or None,
                            has_gps=self.gps, exclude_flagged=self.exclude_restricted, tags=split_tags(self.tag),
                            min_width=self.min_width, min_height=self.min_height,
                            formats=split_formats(self.format), generated=parse_source(self.source),
                            safety=self.safety or None),
            limit=self.limit, offset=self.offset, include_all=self.all,
            min_relevance=self.min_relevance, min_score=self.min_score, mode=self.mode,
        )


AssetId = Annotated[int, Path(ge=1, le=MAX_ASSET_ID, description="An asset id from search results.")]


def search_params(
    q: str = Q("", description='Text; parts separated by "|", "-part" negative, "part:0.5" weighted.'),
    minus: list[str] = Q([], description="Text to push results away from."),
    like: list[str] = Q([], description="Asset ids of example images (uploads go through POST /api/examples)."),
    example: list[str] = Q([], description="Ids returned by POST /api/examples."),
    folder: Optional[str] = Q(None, description="Only assets under this folder (absolute path)."),
    orientation: Optional[str] = Q(None, pattern="^(landscape|portrait|square)?$"),
    min_width: Optional[int] = Q(None, ge=0, le=1_000_000),
    min_height: Optional[int] = Q(None, ge=0, le=1_000_000),
    format: list[str] = Q([], description="jpeg, png, webp, heif, raw, ..."),
    limit: int = Q(40, ge=1, le=200),
    offset: int = Q(0, ge=0, le=10_000),
    all: bool = Q(False, description="Disable the relevance cutoff."),
    min_relevance: Optional[float] = Q(None, ge=-100, le=100),
    min_score: Optional[float] = Q(None, ge=-1, le=1),
    source: str = Q("any", pattern="^(any|library|generated)$",
                    description="library: the library's own images only; generated: generated images only."),
    mode: str = Q("hybrid", pattern="^(vector|keyword|hybrid)$",
                  description="hybrid: meaning and keywords fused; vector: meaning only; keyword: file and folder "
                  "names, embedded keywords and text in images only. Example images alone always rank by meaning."),
    captured_from: Optional[str] = Q(None, max_length=10, description="Only photos taken on or after this day "
                                     "(YYYY-MM-DD; capture times without a zone count as UTC)."),
    captured_to: Optional[str] = Q(None, max_length=10, description="Only photos taken on or before this day."),
    camera: Optional[str] = Q(None, max_length=100, description="Only photos from a camera whose make and model "
                              "contain this (case-insensitive)."),
    gps: Optional[bool] = Q(None, description="true: only photos with a GPS position; false: only those without."),
    exclude_restricted: bool = Q(False, description="Leave out assets whose licence expired or is marked restricted."),
    tag: list[str] = Q([], description="Only assets with this tag (repeatable: all of them), accepted or suggested."),
    safety: Optional[str] = Q(None, pattern="^(safe|not-blocked|review|blocked)?$",
                              description="Stored brand-safety verdicts (scout safety): safe only, all but blocked, "
                              "review only, or blocked only."),
) -> SearchParams:
    return SearchParams(q, minus, like, example, folder, orientation, min_width, min_height,
                        format, limit, offset, all, min_relevance, min_score, source, mode,
                        captured_from=captured_from, captured_to=captured_to, camera=camera, gps=gps,
                        exclude_restricted=exclude_restricted, tag=tag, safety=safety)
