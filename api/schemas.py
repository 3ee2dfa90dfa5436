"""Pydantic request/response models of the HTTP API (they are the OpenAPI docs at /docs)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field

from indexer.catalog import AssetRow
from search.engine import Hit, SearchResult


class AssetOut(BaseModel):
    id: int
    path: str
    name: str
    folder: str
    width: int
    height: int
    format: str
    orientation: str
    size_bytes: int
    thumbnail_url: str
    original_url: str
    generated: bool = Field(False, description="Made by a generator (see provenance in the asset's detail).")

    @classmethod
    def of(cls, a: AssetRow) -> "AssetOut":
        return cls(
            id=a.id, path=a.path, name=a.name, folder=a.folder, width=a.width, height=a.height,
            format=a.format, orientation=a.orientation, size_bytes=a.size,
            thumbnail_url=f"/api/assets/{a.id}/thumbnail", original_url=f"/api/assets/{a.id}/original",
            generated=a.generated,
        )


class KeywordMatchOut(BaseModel):
    field: str = Field(description="Where the words were found: name, folder, keywords (embedded), ocr, tags.")
    terms: list[str] = Field(description="The query's words (or phrases) found in that field.")
    snippet: str = Field("", description="For keywords and ocr: the text around the match, words found in [brackets].")


class HitOut(BaseModel):
    asset: AssetOut
    score: float = Field(description="Cosine similarity of query and image, in [-1, 1].")
    relevance: float = Field(description="Robust standard deviations above this query's median score over the library.")
    weak: bool = Field(False, description="Below the relevance cutoff: shown only because no result cleared it "
                       "(the closest few, still ranked). Show it as 'closest, not a clear match'.")
    why: str = Field("", description="Why it matched, in one line: meaning relevance, then each field the words hit.")
    keywords: list[KeywordMatchOut] = Field([], description="Where the query's words matched (hybrid and keyword modes).")

    @classmethod
    def of(cls, hit: Hit) -> "HitOut":
        return cls(asset=AssetOut.of(hit.asset), score=round(hit.score, 6), relevance=round(hit.relevance, 3),
                   weak=hit.weak, why=hit.why,
                   keywords=[KeywordMatchOut(field=k.field, terms=list(k.terms), snippet=k.snippet) for k in hit.keywords])


class FacetOut(BaseModel):
    tag: str
    count: int = Field(description="Results on this page that have the tag (accepted, or suggested and not rejected).")


class SearchOut(BaseModel):
    results: list[HitOut]
    offset: int
    limit: int
    has_more: bool
    cutoff: Optional[float] = Field(description="Relevance floor applied; null when all=true and for query by "
                                    "example (image-to-image scores rank neighbours without a floor).")
    weak_matches: bool = Field(False, description="No result cleared the cutoff: `results` are the closest few, "
                               "each marked `weak`, instead of nothing.")
    embed_ms: float
    search_ms: float
    library_size: int
    mode: str = Field("vector", description="The mode that ran: hybrid and keyword become vector for example images "
                      "alone or text without words.")
    facets: list[FacetOut] = Field([], description="The most common tags among these results; `tag=` narrows by one.")

    @classmethod
    def of(cls, result: SearchResult, offset: int, limit: int, facets: list[tuple[str, int]] = ()) -> "SearchOut":
        return cls(
            results=[HitOut.of(h) for h in result.hits], offset=offset, limit=limit,
            facets=[FacetOut(tag=t, count=n) for t, n in facets],
            has_more=result.has_more, cutoff=result.cutoff, weak_matches=result.weak_matches,
            embed_ms=round(result.embed_ms, 2),
            search_ms=round(result.search_ms, 2), library_size=result.library_size, mode=result.mode,
        )


class OcrLineOut(BaseModel):
    text: str
    box: list[list[float]] = Field(description="Four [x, y] corners, clockwise from top-left, in the original's pixels.")
    score: float = Field(description="The recogniser's confidence, 0-1.")


class OcrOut(BaseModel):
    text: str = Field(description="The lines found, in reading order, joined by newlines ('' when none).")
    lines: list[OcrLineOut]
    engine: str = Field(description="The OCR engine and settings that read it.")
    error: Optional[str] = Field(None, description="Why the image could not be read (then no text).")


class MediaOut(BaseModel):
    """Metadata embedded in the file (EXIF, IPTC, XMP), as the metadata pass read it."""

    captured_at: Optional[float] = Field(None, description="Capture time, unix seconds (UTC).")
    camera: Optional[str] = None
    lens: Optional[str] = None
    has_gps: bool = False
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    title: Optional[str] = None
    description: Optional[str] = None
    keywords: list[str] = []
    creator: Optional[str] = None
    copyright: Optional[str] = None
    usage_terms: Optional[str] = None
    rating: Optional[int] = None
    rights: Optional[str] = Field(None, description="'expired' or 'restricted' when the licence says so, else null.")
    error: Optional[str] = Field(None, description="Why the metadata could not be read.")

    @classmethod
    def of(cls, row) -> "MediaOut":
        return cls(**{name: getattr(row, name) for name in cls.model_fields if name != "keywords"},
                   keywords=list(row.keywords))


class DuplicateMemberOut(BaseModel):
    id: int
    path: str
    relation: str = Field(description="keeper, exact (same bytes as the keeper) or near.")
    width: int
    height: int
    size: int
    format: str
    similarity: Optional[float] = Field(None, description="Embedding cosine to the keeper (near copies).")
    hamming: Optional[int] = Field(None, description="Perceptual-hash bits differing from the keeper (0-64).")


class DuplicateClusterOut(BaseModel):
    kind: str = Field(description="exact: one file content at several paths; near: resized, recompressed, cropped "
                      "or graded copies.")
    keeper: int = Field(description="The asset id suggested to keep.")
    reason: str
    members: list[DuplicateMemberOut]


class DuplicatesOut(BaseModel):
    clusters: list[DuplicateClusterOut] = Field(description="This page of groups, largest first.")
    total: int = Field(description="Groups in the whole library.")
    files: int = Field(description="Files besides the suggested keepers, over every group.")
    offset: int
    has_more: bool = Field(description="Whether groups follow this page.")
    version: int = Field(description="Which report this page comes from: pass it with the next pages.")
    contents: int = Field(description="Distinct images looked at.")
    unhashed: int = Field(description="Images without a perceptual hash yet (their near-duplicates are not confirmed).")


class AssetDetailOut(AssetOut):
    root: str
    mtime_ns: int
    content_hash: str
    indexed_at: float
    provenance: Optional[dict] = Field(None, description="How a generated image was made (prompt, negative "
                                       "prompt, seed, steps, guidance, size, model, generator, brief id, time).")
    ocr: Optional[OcrOut] = Field(None, description="Text found in the image, with boxes; null when it has not been "
                                  "read (OCR off for this library, or not yet).")
    metadata: Optional[MediaOut] = Field(None, description="Embedded EXIF/IPTC/XMP metadata; null until read.")


class ExampleOut(BaseModel):
    example_id: str = Field(description="Pass as `example` to /api/search to combine with text.")


class StatusOut(BaseModel):
    library: str
    roots: list[str]
    assets: int
    failed: int
    model: Optional[str]
    dim: int
    index_type: str
    index_generation: Optional[int]
    catalog_generation: int
    formats: dict[str, int]
    folders: list[str]
    last_run: Optional[dict] = Field(description="The last index run; a killed one reads 'interrupted'.")
    generation: int = Field(description="Same as catalog_generation (kept for older clients).")
    read_only: bool
    ocr: Optional[dict] = Field(None, description="Text in images: {enabled (the library's switch), read, "
                                "with_text, failed} counted over contents.")
    safety: Optional[dict] = Field(None, description="Brand-safety verdicts stored, by kind (safe, review, block, "
                                   "failed), counted over contents.")
    tags: Optional[dict] = Field(None, description="{taxonomy, waiting, accepted, rejected}: suggestions waiting "
                                 "for review and people's decisions.")


class IndexJobIn(BaseModel):
    paths: list[str] = Field(default_factory=list, description="Folders to index; empty = the library's roots.")


class IndexJobOut(BaseModel):
    id: str
    status: str = Field(description="queued, running, completed, interrupted or failed")
    paths: list[str]
    found: int
    embedded: int
    reused: int
    unchanged: int
    failed: int
    removed: int
    error: Optional[str] = None


class ErrorOut(BaseModel):
    error: str
    hint: Optional[str] = None


class SafetyOut(BaseModel):
    """An asset's brand-safety verdict (``scout safety``) with the reasons and their evidence:
    scores, matched words with OCR snippets, nudity boxes in the original's pixels."""

    verdict: Optional[str] = Field(None, description="safe, review or block; null: not judged yet, or the check failed")
    categories: list[str] = []
    contexts: list[str] = []
    reasons: list[dict] = []
    policy: Optional[str] = None
    error: Optional[str] = None
    judged_at: Optional[float] = None
