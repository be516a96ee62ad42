"""What needs no sign-in: the login form, health, the language switch and static files;
and the API's description (``/openapi.json``, ``/api/docs``), which does."""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import hmac
import re
import secrets
from importlib.metadata import version
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import fastapi_offline
import plotly
from fastapi import APIRouter, Form, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from plotly.offline import get_plotlyjs_version
from starlette.exceptions import HTTPException

from segmentry.core.errors import SegmentryError
from segmentry.i18n.catalogue import LANGUAGES
from segmentry.web import accounts, guards
from segmentry.web.deps import (
    LANG_COOKIE,
    SESSION_COOKIE,
    AccountsDep,
    CsrfError,
    CurrentUser,
    Page,
)
from segmentry.web.hints import error_text

__all__ = ["IMMUTABLE", "PLOTLY_URL", "SWAGGER_URL", "router"]

router = APIRouter(tags=["public"])

_LOGIN_CSRF = "segmentry_login_csrf"
_STATIC = Path(__file__).resolve().parent.parent / "static"
_STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
_STATIC_FILES["jobs.js"] = "text/javascript"  # job progress and tag sync (runs, segment pages)
_STATIC_FILES["sends.js"] = "text/javascript"  # the send page's live preview
_YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={_YEAR}, immutable"
# plotly.js from the installed ``plotly`` package and Swagger UI from ``fastapi-offline``
# (see docs/web.md): the app works offline. Their URLs carry their versions, so browsers may
# keep them for a year and an upgrade is fetched anew.
_PLOTLY_FILE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_URL = f"/static/plotly-{get_plotlyjs_version()}.min.js"
_SWAGGER = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_URL = f"/static/swagger-ui-{version('fastapi-offline')}/"


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a login to another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.netloc or parts.scheme else target


@router.get("/health", summary="Liveness check (no sign-in needed)")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/login", include_in_schema=False)
def login_form(request: Request, page: Page, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = page("login.html", next=_safe_next(next), login_csrf=token, failed=None)
    response.set_cookie(_LOGIN_CSRF, token, httponly=True, samesite="strict")
    return response


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    page: Page,
    store: AccountsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    # NOTE: a plain ``def``: FastAPI runs it in its thread pool, so the (CPU-bound) password
    # hash never blocks the event loop; and it takes no workspace lock (see AccountsStore).
    expected = request.cookies.get(_LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise CsrfError("This form has expired.", hint="Reload the page and sign in again.")
    client = request.client.host if request.client else None
    try:
        cookie, _ = accounts.log_in(store.engine, email, password, store.shop_id, client)
    except accounts.LoginLocked as e:
        refused = page("login.html", status_code=429, next=_safe_next(next),
                       login_csrf=expected, failed=error_text(e, page.lang)[0])
        refused.headers["Retry-After"] = str(e.retry_after)
        return refused
    except SegmentryError as e:
        return page("login.html", status_code=401, next=_safe_next(next),
                    login_csrf=expected, failed=error_text(e, page.lang)[0])
    response: Response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, cookie, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", max_age=accounts.SESSION_DAYS * 24 * 3600,
    )
    response.delete_cookie(_LOGIN_CSRF)
    return response


@router.get("/lang/{code}", include_in_schema=False)
def switch_language(code: str, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
    """Remember the chosen language in a cookie and go back."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=_YEAR, samesite="lax")
    return response


def _versioned(path: str, file: Path, media_type: str) -> None:
    """Serve ``file`` at a URL that names its version: cached for a year, gzipped once."""

    def asset(request: Request) -> Response:
        headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(_gzipped(file), media_type=media_type, headers=headers)
        return FileResponse(file, media_type=media_type, headers=headers)

    router.add_api_route(path, asset, methods=["GET"], include_in_schema=False)


@functools.cache
def _gzipped(file: Path) -> bytes:
    """The file compressed once per process (plotly.min.js: 4.8 MB → 1.5 MB)."""
    return gzip.compress(file.read_bytes(), compresslevel=9, mtime=0)


_versioned(PLOTLY_URL, _PLOTLY_FILE, "text/javascript")
_versioned(SWAGGER_URL + "swagger-ui-bundle.js", _SWAGGER / "swagger-ui-bundle.js",
           "text/javascript")
_versioned(SWAGGER_URL + "swagger-ui.css", _SWAGGER / "swagger-ui.css", "text/css")
_versioned(SWAGGER_URL + "favicon.png", _SWAGGER / "favicon.png", "image/png")


@router.get("/openapi.json", include_in_schema=False)
def openapi_document(request: Request, user: CurrentUser) -> Response:
    """The OpenAPI document, for signed-in users and API tokens only."""
    return JSONResponse(request.app.openapi())


@router.get("/api/docs", include_in_schema=False)
def api_docs(user: CurrentUser) -> Response:
    """Swagger UI over ``/openapi.json`` from local files (no CDN: it works offline); its one
    inline script is allowed by its hash in the page's own Content-Security-Policy."""
    page = _swagger_page()
    script = re.search(rb"<script>(.*?)</script>", page.body, re.S)
    assert script is not None
    allowed = base64.b64encode(hashlib.sha256(script.group(1)).digest()).decode()
    page.headers["Content-Security-Policy"] = guards.CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", f"script-src 'self' 'sha256-{allowed}'")
    return page


def _swagger_page() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="segmentry API",
        swagger_js_url=SWAGGER_URL + "swagger-ui-bundle.js",
        swagger_css_url=SWAGGER_URL + "swagger-ui.css",
        swagger_favicon_url=SWAGGER_URL + "favicon.png",
        # NOTE: Swagger UI would otherwise load a badge from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    if name not in _STATIC_FILES:
        raise HTTPException(404, "No such file.")
    return FileResponse(_STATIC / name, media_type=_STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache"})

