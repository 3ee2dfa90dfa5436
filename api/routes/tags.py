"""Tags over HTTP: the overview, the review queue, one asset's tags, and decisions.

Reads use the server's read-only library; decisions open a writable handle for their one
transaction and need the API token whenever the server has one, like every write.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import AssetId, ServerState, require_read_token, require_write_token, state
from indexer.library import Library
from indexer.tagging.review import MAX_DECISIONS_PER_CALL, TagDesk
from search import tags as tag_reads

router = APIRouter(prefix="/api", tags=["tags"])
TagName = Annotated[Optional[str], Query(max_length=64, description="A tag of the library's taxonomy.")]


class SuggestionOut(BaseModel):
    asset_id: int
    name: str
    folder: str
    tag: str
    path: list[str] = Field(description="The tag's place in the hierarchy, root first.")
    confidence: Optional[float] = Field(description="Calibrated: robust standard deviations above the tag's median.")
    status: Literal["suggested", "accepted", "rejected"]
    thumbnail_url: str

    @classmethod
    def of(cls, s: tag_reads.Suggestion) -> "SuggestionOut":
        return cls(**s.to_dict(), thumbnail_url=f"/api/assets/{s.asset.id}/thumbnail")


class TagOut(BaseModel):
    name: str
    parent: Optional[str]
    group: Optional[str]
    scored: bool
    threshold: float
    threshold_source: str
    waiting: int
    accepted: int
    rejected: int


class DecisionIn(BaseModel):
    asset_id: int = Field(ge=1, le=2**63 - 1)
    tag: str = Field(min_length=1, max_length=64)
    decision: Literal["accepted", "rejected"]


class DecisionsIn(BaseModel):
    decisions: list[DecisionIn] = Field(min_length=1, max_length=MAX_DECISIONS_PER_CALL)
    reviewer: Optional[str] = Field(None, max_length=64)


class DecisionsOut(BaseModel):
    recorded: int = Field(description="Decisions stored (ids of assets no longer in the library are skipped).")


@router.get("/tags", response_model=list[TagOut], dependencies=[Depends(require_read_token)],
            summary="Every tag of the library's taxonomy, its threshold and counts")
def overview(s: ServerState = Depends(state)) -> list[TagOut]:
    return [TagOut(**t.to_dict()) for t in tag_reads.tag_overview(s.library)]


@router.get("/tags/queue", response_model=list[SuggestionOut], dependencies=[Depends(require_read_token)],
            summary="Suggestions waiting for review, most confident first")
def queue(tag: TagName = None, asset: Annotated[Optional[int], Query(ge=1, le=2**63 - 1)] = None,
          limit: Annotated[int, Query(ge=1, le=tag_reads.MAX_PAGE)] = 60,
          offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0, s: ServerState = Depends(state)) -> list[SuggestionOut]:
    return [SuggestionOut.of(x) for x in tag_reads.review_queue(s.library, tag=tag, asset_id=asset, limit=limit,
                                                               offset=offset)]


@router.get("/assets/{asset_id}/tags", response_model=list[SuggestionOut], dependencies=[Depends(require_read_token)],
            summary="One asset's tags: decisions, then suggestions waiting for review")
def asset_tags(asset_id: AssetId, s: ServerState = Depends(state)) -> list[SuggestionOut]:
    return [SuggestionOut.of(x) for x in tag_reads.asset_tags(s.library, asset_id)]


@router.post("/tags/decisions", response_model=DecisionsOut, dependencies=[Depends(require_write_token)],
             summary="Accept or reject suggestions (final: kept through re-tagging and model changes)")
def decide(body: DecisionsIn, s: ServerState = Depends(state)) -> DecisionsOut:
    library = Library.open(s.library.path)
    try:
        recorded = TagDesk(library).decide([(d.asset_id, d.tag, d.decision) for d in body.decisions], body.reviewer)
    finally:
        library.close()
    return DecisionsOut(recorded=recorded)
