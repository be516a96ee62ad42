"""The web app factory and its one error handler.

>>> # app = create_app("segmentry-demo"); uvicorn.run(app)

Pages are server-rendered (Jinja2) under ``/``; each has a JSON twin under ``/api/`` built from
the same context object (see :mod:`segmentry.web.schemas`). Every error, on a page or in the
API, is a :class:`~segmentry.core.errors.SegmentryError` turned into one shape by
:func:`_error_response`: ``{"error": {"code", "message", "hint", ...}}`` or the error page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segmentry.app.workspace import Workspace
from segmentry.core.errors import (
    EngineError,
    LockHeldError,
    QueryError,
    SegmentError,
    SegmentryError,
    WorkspaceError,
)
from segmentry.web import background, guards, openapi
from segmentry.web.deps import (
    CsrfError,
    NotAuthenticated,
    Renderer,
    WebApp,
    language_of,
    template_environment,
)
from segmentry.web.hints import error_body
from segmentry.web.routes import ROUTERS
from segmentry.web.routes.public import PLOTLY_URL

__all__ = ["create_app"]

log = logging.getLogger("segmentry.web")

# Error code → HTTP status; anything else a SegmentryError carries is the user's to fix (400).
_STATUS_BY_CODE = {
    "unknown_segment": 404,
    "renamed_segment": 404,
    "unknown_campaign": 404,
    "unknown_step": 404,
    "not_found": 404,
    "duplicate_segment": 409,
    "duplicate_display_name": 409,
    "job_running": 409,
    "segment_in_use": 409,
    "not_computed": 409,
    "warehouse_locked": 503,
    "bad_login": 401,
    "duplicate_user": 409,
    "remove_self": 409,
    "login_locked": 429,
    "last_user": 409,
}
_STATUS_BY_TYPE: list[tuple[type[SegmentryError], int]] = [
    (NotAuthenticated, 401),
    (CsrfError, 403),
    (LockHeldError, 409),
    (EngineError, 500),
    (WorkspaceError, 500),
    (QueryError, 400),
    (SegmentError, 400),
]


def create_app(
    workspace_path: str | Path,
    *,
    workspace: Workspace | None = None,
    schedule: bool = False,
    warm: bool = False,
) -> FastAPI:
    """The app over the workspace in ``workspace_path`` (or an already open ``workspace``).

    ``schedule``: run the daily pipeline at the time in the ``schedule`` settings; ``warm``:
    prepare the day's live count and journeys at start and after each job (see
    :mod:`segmentry.web.background`). ``segmentry serve`` does both.

    NOTE: with ``warm``, the warm-up uses the workspace's connection right after start (under
    the request lock): code outside the app must not use ``workspace`` meanwhile.
    """
    ws = workspace or Workspace.open(workspace_path)
    web = WebApp(workspace=ws, templates=template_environment())
    background.attach(web, schedule=schedule, warm=warm)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background.start(web, warm=warm)
        yield
        background.stop(web)
        if workspace is None:
            ws.close()

    app = FastAPI(
        title="segmentry",
        summary="Customer segments, LTV and journeys for DTC stores.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local files by routes.public (no CDN)
        redoc_url=None,
        openapi_url=None,  # served behind sign-in by routes.public
    )
    app.state.web = web
    web.templates.globals["plotly_url"] = PLOTLY_URL  # base.html, pages with charts
    for router in ROUTERS:
        app.include_router(router)
    openapi.document_errors(app)
    app.add_exception_handler(SegmentryError, _segmentry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    # NOTE: compresses pages and JSON; plotly.js comes precompressed and is passed through.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    app.add_middleware(ServerTiming)
    app.add_middleware(guards.BodyLimit)
    app.add_middleware(guards.SecurityHeaders)
    return app


class ServerTiming:
    """Adds ``Server-Timing: app;dur=<ms>`` (time until the response starts) to every response;
    ``segmentry bench-web`` reads it, and browsers show it in their developer tools."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = MutableHeaders(scope=message)
                headers.append("Server-Timing", f"app;dur={elapsed:.1f}")
            await send(message)

        await self.app(scope, receive, timed_send)


def _wants_json(request: Request) -> bool:
    """API paths, and downloads or clients that do not ask for HTML, get JSON errors."""
    path, accept = request.url.path, request.headers.get("accept", "")
    if (path.startswith("/api/") and path != "/api/docs") or path == "/openapi.json":
        return True
    if path.endswith(".csv"):
        return "text/html" not in accept
    return "application/json" in accept and "text/html" not in accept


def _status_of(error: SegmentryError) -> int:
    if error.code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[error.code]
    for kind, status in _STATUS_BY_TYPE:
        if isinstance(error, kind):
            return status
    return 400


def _error_response(request: Request, body: dict[str, Any], status: int) -> Response:
    if status == 401 and not _wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if _wants_json(request):
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    page = Renderer(request, language_of(request))
    return page("error.html", status_code=status, error=body, status=status)


async def _segmentry_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, SegmentryError)
    status = _status_of(error)
    if status >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return _error_response(request, error_body(error, language_of(request)), status)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    details = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
        for e in error.errors()
    ]
    first = details[0] if details else {"where": "", "problem": "invalid"}
    shown = SegmentryError("{where}: {problem}", code="bad_parameter", params=first)
    body = {**error_body(shown, language_of(request)), "details": details}
    return _error_response(request, body, 422)


# The HTTP errors Starlette raises itself (no such route, wrong method), in the catalogue's words.
_HTTP_ERRORS = {
    404: ("not_found", "This page does not exist.",
          "Check the address, or go back to the overview."),
    405: ("method_not_allowed", "This address does not accept {method} requests.", None),
    413: ("too_large", "This request is too large.", "Send less data at once, or sign in first."),
    0: ("http", "The request was refused ({status}).", None),  # any other status
}


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    code, message, hint = _HTTP_ERRORS.get(error.status_code, _HTTP_ERRORS[0])
    shown = SegmentryError(message, code=code, hint=hint,
                           params={"method": request.method, "status": error.status_code})
    response = _error_response(request, error_body(shown, language_of(request)),
                               error.status_code)
    response.headers.update(error.headers or {})
    if error.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (Starlette names only the first route's)."""
    allowed: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.matches(request.scope)[0] != Match.NONE:
            allowed |= route.methods or set()
    return sorted(allowed)


async def _unexpected_error(request: Request, error: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    shown = SegmentryError(
        "Something went wrong on our side.", code="internal",
        hint="The error was logged; try again, or report it with the time it happened.",
    )
    return _error_response(request, error_body(shown, language_of(request)), 500)
