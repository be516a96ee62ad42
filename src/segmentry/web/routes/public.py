"""What needs no sign-in: the login form, health, the language switch and static files."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from segmentry.errors import SegmentryError
from segmentry.web import accounts
from segmentry.web.deps import (
    LANG_COOKIE,
    SESSION_COOKIE,
    CsrfError,
    Page,
    WorkspaceDep,
)
from segmentry.web.messages import LANGUAGES

__all__ = ["router"]

router = APIRouter(tags=["public"])

_LOGIN_CSRF = "segmentry_login_csrf"
_STATIC = Path(__file__).resolve().parent.parent / "static"
_STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
_STATIC_FILES["jobs.js"] = "text/javascript"  # job progress and tag sync (runs, segment pages)
_YEAR = 365 * 24 * 3600


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
    ws: WorkspaceDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    expected = request.cookies.get(_LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise CsrfError("This form has expired.", hint="Reload the page and sign in again.")
    try:
        cookie, _ = accounts.log_in(ws.state, email, password, ws.settings.shop.id)
    except SegmentryError as e:
        return page("login.html", status_code=401, next=_safe_next(next),
                    login_csrf=expected, failed=e.message)
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


@router.get("/static/plotly.min.js", include_in_schema=False)
def plotly_js() -> Response:
    """plotly.js from the installed ``plotly`` package: the app works offline (no CDN)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    if name not in _STATIC_FILES:
        from starlette.exceptions import HTTPException

        raise HTTPException(404, "No such file.")
    return FileResponse(_STATIC / name, media_type=_STATIC_FILES[name],
                        headers={"Cache-Control": "no-cache"})

