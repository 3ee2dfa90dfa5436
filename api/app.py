"""The FastAPI app factory: settings, library and encoder in; an ASGI app out.

Tests build one app per temporary library; `scout serve` builds one and hands it to uvicorn.
The app opens the library read-only; index jobs open their own writable handle.
"""

from __future__ import annotations

from pathlib import Path

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from api.deps import ServerSettings, ServerState
from api.errors import ERROR_RESPONSES, http_status
from api.guards import HostPolicy, RequestGuard
from api.routes import assets, briefs, library, reviews, search, tags
from indexer.encoders.base import Encoder
from indexer.errors import ScoutError
from indexer.jobs import JobRunner
from indexer.library import Library
from search.engine import Searcher
from search.examples import ExampleStore

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("scout.api")
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_HTTP_HINTS = {
    404: "See /docs for the endpoints.",
    405: "See /docs for the methods each endpoint takes.",
}


def create_app(library_path: Path, encoder: Encoder, settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    lib = Library.open(library_path, readonly=True)
    app = FastAPI(
        title="Scout",
        version="0.1.0",
        description="Semantic search over a creative-asset library. Errors are JSON: "
        '{"error": ..., "hint": ...}. Write endpoints need a token when the server is not on '
        "loopback (Authorization: Bearer TOKEN or X-Scout-Token). A loopback server answers only "
        "loopback host names, and refuses cross-site requests to /api.",
        responses=ERROR_RESPONSES,
    )
    app.state.scout = ServerState(
        settings=settings,
        library=lib,
        searcher=Searcher(lib, encoder),
        examples=ExampleStore(),
        jobs=JobRunner(lib.path, encoder, ocr_default=settings.ocr_default),
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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Request refused."
        return JSONResponse({"error": message, "hint": _HTTP_HINTS.get(exc.status_code)},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("Unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "Internal server error.",
                             "hint": "This is a bug in Scout; the server log has the details."},
                            status_code=500)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    for router in (search.router, assets.router, library.router, briefs.router, reviews.router, tags.router):
        app.include_router(router)

    @app.api_route("/api/{rest:path}", methods=list(_METHODS), include_in_schema=False)
    async def unknown_api_path(request: Request, rest: str) -> JSONResponse:
        """An /api path no route serves: 405 (with Allow) when another method would be served,
        else 404; never a fall-through to the static files."""
        served = [r for r in app.router.routes if r is not unknown_route and not isinstance(r, Mount)]
        allowed = sorted(method for method in _METHODS if any(
            r.matches({**request.scope, "method": method})[0] == Match.FULL for r in served))
        if allowed:
            return JSONResponse({"error": f"{request.method} is not allowed on {request.url.path}.",
                                 "hint": f"Use {', '.join(allowed)}."}, status_code=405,
                                headers={"Allow": ", ".join(allowed)})
        return JSONResponse({"error": f"No API endpoint {request.url.path}.", "hint": _HTTP_HINTS[404]},
                            status_code=404)

    unknown_route = app.router.routes[-1]
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="ui")
    app.add_middleware(
        RequestGuard,
        hosts=HostPolicy.for_server(settings.host, settings.allowed_hosts, bool(settings.token)),
        max_body_bytes=settings.max_upload_bytes + 64 * 1024,
    )
    return app
