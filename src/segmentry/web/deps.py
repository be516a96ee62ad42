"""Dependencies every route declares once (``Annotated`` aliases, as in FastAPI's template):
the workspace, the signed-in user, the language and the page renderer.

Authentication: ``Authorization: Bearer <API token>`` or the session cookie set by ``/login``.
Requests that change something and come with a session cookie must carry the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``); token-authenticated calls carry no
ambient credentials, so they need none.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jinja2
import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from segmentry.app.jobs import JobRunner, Periodic, Scheduler
from segmentry.app.workspace import Workspace
from segmentry.core.errors import SegmentryError
from segmentry.i18n.catalogue import LANGUAGES, translator
from segmentry.i18n.format import Formatter
from segmentry.web import accounts
from segmentry.web.data import SnapshotCache
from segmentry.web.hints import stored_error_body

__all__ = [
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "AccountsDep",
    "AccountsStore",
    "CurrentUser",
    "Lang",
    "NotAuthenticated",
    "Page",
    "Renderer",
    "WebApp",
    "WorkspaceDep",
    "language_of",
]

SESSION_COOKIE = "segmentry_session"
LANG_COOKIE = "segmentry_lang"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class NotAuthenticated(SegmentryError):
    code = "unauthenticated"


class CsrfError(SegmentryError):
    code = "csrf"


@dataclass
class WebApp:
    """What the app keeps between requests (``app.state.web``)."""

    workspace: Workspace
    templates: jinja2.Environment
    # NOTE: one DuckDB connection serves every request; DuckDB connections are not safe to use
    # from several threads at once, so requests take turns on the workspace.
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: dict[Any, Any] = field(default_factory=dict)
    # The current day's evaluation snapshot, shared by every live count (see data.preview).
    snapshots: SnapshotCache = field(default_factory=SnapshotCache)
    # Background jobs ("Run now", tag syncs) and the daily schedule (see segmentry.app.jobs).
    runner: JobRunner | None = None
    scheduler: Scheduler | None = None
    # Applies the Shopify webhook queue now and then (see segmentry.web.background).
    webhooks: Periodic | None = None


def web_app(request: Request) -> WebApp:
    state: WebApp = request.app.state.web
    return state


def _workspace(request: Request) -> Iterator[Workspace]:
    state = web_app(request)
    with state.lock:
        yield state.workspace


WorkspaceDep = Annotated[Workspace, Depends(_workspace)]


def _accounts_store(request: Request) -> AccountsStore:
    workspace = web_app(request).workspace
    return AccountsStore(workspace.state, workspace.settings.shop.id)


@dataclass(frozen=True)
class AccountsStore:
    """The state store (a thread-safe SQLAlchemy engine) and the shop, for signing in and out.

    NOTE: taken without the request lock, so password checks never queue behind (or hold up)
    the pages that use the workspace's one DuckDB connection.
    """

    engine: sa.Engine
    shop_id: str


AccountsDep = Annotated[AccountsStore, Depends(_accounts_store)]


def language_of(request: Request) -> str:
    """The cookie's language, else the best of Accept-Language, else the workspace's default
    (``[web] default_language``, set on the Settings page)."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, tag.split("-")[0].lower()))
    for _, code in sorted(ranked, key=lambda item: -item[0]):
        if code in LANGUAGES:
            return code
    return str(web_app(request).workspace.settings.web.default_language)


Lang = Annotated[str, Depends(language_of)]


async def _current_user(request: Request) -> accounts.User:
    state = web_app(request)
    engine = state.workspace.state
    header = request.headers.get("authorization", "")
    user: accounts.User | None = None
    if header.lower().startswith("bearer "):
        user = accounts.token_user(engine, header[7:].strip())
    elif cookie := request.cookies.get(SESSION_COOKIE):
        session = accounts.session_user(engine, cookie)
        if session is not None:
            user = session.user
            request.state.csrf = session.csrf
            if request.method not in _SAFE_METHODS:
                await _check_csrf(request, session.csrf)
    if user is None or user.shop_id != state.workspace.settings.shop.id:
        raise NotAuthenticated(
            "Sign in, or send an API token as `Authorization: Bearer <token>`.",
            hint="Create a token on the Settings page.",
        )
    request.state.user = user
    return user


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # NOTE: Starlette caches the parsed form for the handler
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if sent != expected:
        raise CsrfError(
            "This form has expired or did not come from segmentry.",
            hint="Reload the page and try again.",
        )


CurrentUser = Annotated[accounts.User, Depends(_current_user)]
require_user = Depends(_current_user)


class Renderer:
    """Renders a page template with the request's language, formatter and CSRF token."""

    def __init__(self, request: Request, lang: str) -> None:
        self.request = request
        self.lang = lang

    def context(self, **values: Any) -> dict[str, Any]:
        state = web_app(self.request)
        shop = state.workspace.settings.shop
        user = getattr(self.request.state, "user", None)
        return {
            "request": self.request,
            "lang": self.lang,
            "_": translator(self.lang),
            "fmt": Formatter(self.lang, shop.currency, shop.timezone),
            "shop": shop,
            "user": user,
            "csrf_token": getattr(self.request.state, "csrf", ""),
            "path": self.request.url.path,
            # a stored failure (a run's, a job's) in the reader's language, or None
            "failure": lambda record: stored_error_body(record, self.lang),
            **values,
        }

    def __call__(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        page = web_app(self.request).templates.get_template(template)
        return HTMLResponse(page.render(self.context(**values)), status_code=status_code)


def _renderer(request: Request, lang: Lang) -> Renderer:
    return Renderer(request, lang)


Page = Annotated[Renderer, Depends(_renderer)]


def template_environment() -> jinja2.Environment:
    folder = Path(__file__).parent / "templates"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson_attr"] = _json_for_attribute
    return env


def _json_for_attribute(value: Any) -> str:

    return json.dumps(value, default=str, ensure_ascii=False)
