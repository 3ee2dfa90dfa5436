from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response

from api.deps import AssetId, SearchParams, ServerState, require_read_token, search_params, state
from api.schemas import AssetDetailOut, AssetOut, MediaOut, OcrOut, SafetyOut, SearchOut
from indexer.errors import AssetNotFound
from search import files
from search import safety as safety_reads
from search import tags as tag_reads
from search.query import Example

router = APIRouter(prefix="/api/assets", tags=["assets"], dependencies=[Depends(require_read_token)])

CACHE_FOREVER = {"Cache-Control": "public, max-age=31536000, immutable"}


@router.get("/{asset_id}", response_model=AssetDetailOut, summary="One asset's metadata")
def asset_detail(asset_id: AssetId, s: ServerState = Depends(state)) -> AssetDetailOut:
    asset = s.library.catalog.asset(asset_id)
    if asset is None:
        raise AssetNotFound(f"No asset with id {asset_id}.")
    provenance = s.library.catalog.provenance(asset.hash) if asset.generated else None
    ocr = s.library.catalog.ocr(asset.hash)
    media = s.library.catalog.media_for_hash(asset.hash)
    return AssetDetailOut(**AssetOut.of(asset).model_dump(), root=asset.root, mtime_ns=asset.mtime_ns,
                          content_hash=asset.hash, indexed_at=asset.indexed_at, provenance=provenance,
                          ocr=OcrOut(text=ocr.text, lines=ocr.lines, engine=ocr.engine, error=ocr.error) if ocr else None,
                          metadata=MediaOut.of(media) if media else None)


@router.get("/{asset_id}/safety", response_model=SafetyOut, summary="One asset's brand-safety verdict and evidence")
def asset_safety(asset_id: AssetId, s: ServerState = Depends(state)) -> SafetyOut:
    return SafetyOut(**safety_reads.asset_safety(s.library, asset_id).as_dict())


@router.get("/{asset_id}/similar", response_model=SearchOut, summary="More like this asset")
def similar(asset_id: AssetId, params: SearchParams = Depends(search_params), s: ServerState = Depends(state)) -> SearchOut:
    result = s.searcher.search(params.to_query([Example(asset_id=asset_id)]))
    return SearchOut.of(result, params.offset, params.limit, tag_reads.facets(s.library, [h.asset.id for h in result.hits]))


@router.get("/{asset_id}/thumbnail", summary="WebP thumbnail (320 px)", response_class=Response)
def thumbnail(asset_id: AssetId, s: ServerState = Depends(state)) -> Response:
    content, media_type = files.thumbnail(s.library, asset_id)
    if isinstance(content, Path):
        return FileResponse(content, media_type=media_type, headers=CACHE_FOREVER)
    return Response(content, media_type=media_type)


@router.get("/{asset_id}/preview", summary="A large (1600 px) WebP rendering, for formats browsers cannot show",
            response_class=Response)
def preview(asset_id: AssetId, s: ServerState = Depends(state)) -> Response:
    return Response(files.rendered(s.library, asset_id, 1600), media_type="image/webp")


@router.get("/{asset_id}/original", summary="The original file", response_class=FileResponse)
def original(asset_id: AssetId, download: bool = False, s: ServerState = Depends(state)) -> FileResponse:
    asset, path = files.original_path(s.library, asset_id)
    return FileResponse(path, filename=asset.name if download else None,
                        content_disposition_type="attachment" if download else "inline")
