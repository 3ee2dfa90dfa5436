"""The FastAPI app factory: settings, library and encoder in; an ASGI app out.

Tests build one app per temporary library; `scout serve` builds one and hands it to uvicorn.
The app opens the library read-only; index jobs open their own writable handle.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from api.deps import ServerSettings, ServerState
from api.errors import http_status
from api.routes import assets, library, search
from indexer.encoders.base import Encoder
from indexer.errors import ScoutError
from indexer.jobs import JobRunner
from indexer.library import Library
from search.engine import Searcher
from search.examples import ExampleStore

STATIC = Path(__file__).resolve().parent / "static"


def create_app(library_path: Path, encoder: Encoder, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    lib = Library.open(library_path, readonly=True)
    app = FastAPI(
        title="Scout",
        version="0.1.0",
        description="Semantic search over a creative-asset library. Errors are JSON: "
        '{"error": ..., "hint": ...}. Write endpoints need a token when the server is not on '
        "loopback (Authorization: Bearer TOKEN or X-Scout-Token).",
    )
    app.state.scout = ServerState(
        settings=settings,
        library=lib,
        searcher=Searcher(lib, encoder),
        examples=ExampleStore(),
        jobs=JobRunner(lib.path, encoder),
    )

    @app.exception_handler(ScoutError)
    async def scout_error(request: Request, exc: ScoutError) -> JSONResponse:
        return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=http_status(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(
            {"error": f"Invalid request: {problems}", "hint": "See /docs for the parameters.",
             "detail": [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]},
            status_code=422,
        )

    @app.middleware("http")
    async def guard_and_headers(request: Request, call_next):
        # Refuse an oversized upload from its declared length, before it is spooled to disk.
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_upload_bytes + 64 * 1024:
            return JSONResponse(
                {"error": f"Request body is larger than {settings.max_upload_bytes >> 20} MB.",
                 "hint": "Send a smaller JPEG or PNG."}, status_code=413)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    for router in (search.router, assets.router, library.router):
        app.include_router(router)
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="ui")
    return app
