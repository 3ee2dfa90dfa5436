from __future__ import annotations

from fastapi import APIRouter, Depends, File, UploadFile
from starlette.concurrency import run_in_threadpool

from api.deps import SearchParams, ServerState, require_read_token, search_params, state
from api.schemas import ExampleOut, SearchOut
from indexer.errors import TooLarge
from search import tags as tag_reads
from search.query import Example

router = APIRouter(prefix="/api", tags=["search"], dependencies=[Depends(require_read_token)])


def _run(s: ServerState, params: SearchParams, uploads: list[Example] = ()) -> SearchOut:
    stored = [Example(vector=s.examples.get(key), label=key) for key in params.example]
    result = s.searcher.search(params.to_query(stored + list(uploads)))
    return SearchOut.of(result, params.offset, params.limit, tag_reads.facets(s.library, [h.asset.id for h in result.hits]))


@router.get("/search", response_model=SearchOut, summary="Search by text, example assets and uploaded examples")
def search(params: SearchParams = Depends(search_params), s: ServerState = Depends(state)) -> SearchOut:
    return _run(s, params)


async def read_upload(file: UploadFile, s: ServerState) -> bytes:
    limit = s.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"Upload is larger than {limit >> 20} MB.", hint="Send a smaller JPEG or PNG.")
    return data


def embed_upload(s: ServerState, data: bytes, name: str):
    """Decoding and the image model are CPU work: callers run this off the event loop."""
    return s.searcher.embed_image_bytes(data, name, max_pixels=int(s.settings.max_upload_megapixels * 1e6))


@router.post("/examples", response_model=ExampleOut, summary="Upload an example image once, search with it by id")
async def upload_example(file: UploadFile = File(...), s: ServerState = Depends(state)) -> ExampleOut:
    data = await read_upload(file, s)
    key = s.examples.key_for(data)
    s.examples.put(key, await run_in_threadpool(embed_upload, s, data, file.filename or "upload"))
    return ExampleOut(example_id=key)


@router.post("/search/image", response_model=SearchOut, summary="One-shot search by an uploaded image (plus optional text)")
async def search_by_upload(
    file: UploadFile = File(...),
    params: SearchParams = Depends(search_params),
    s: ServerState = Depends(state),
) -> SearchOut:
    data = await read_upload(file, s)
    name = file.filename or "upload"
    upload = Example(vector=await run_in_threadpool(embed_upload, s, data, name), label=name)
    return await run_in_threadpool(_run, s, params, [upload])
