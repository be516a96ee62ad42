"""Settings: the workspace (shop, engine, sources), the Shopify connection, the daily schedule,
the default language, users and API tokens; and signing out.

Each change has a JSON endpoint and a form; a form that cannot be saved shows the settings page
again with the problem in the user's language (``problem`` codes are worded in
``settings.html``). Changes are written to ``segmentry.toml`` and take effect at once.
"""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.install import CALLBACK_PATH, begin_install, finish_install
from segmentry.connectors.shopify.scopes import REQUIRED_SCOPES, MissingScopes
from segmentry.connectors.shopify.sync import (
    connect_client_credentials,
    connect_workspace,
    connection_status,
)
from segmentry.core import config
from segmentry.core.errors import SegmentryError
from segmentry.engine import engine_name
from segmentry.web import accounts
from segmentry.web.deps import (
    SESSION_COOKIE,
    AccountsDep,
    CurrentUser,
    Page,
    WebApp,
    WorkspaceDep,
    require_user,
    web_app,
)
from segmentry.web.messaging import channels_of
from segmentry.web.schemas import (
    ErrorBody,
    LanguageIn,
    PasswordChange,
    ScheduleIn,
    SettingsOut,
    ShopifyConnect,
    ShopifyOut,
    SourceOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
)

__all__ = ["page_of", "refused", "router", "saved"]

router = APIRouter(dependencies=[require_user], tags=["settings"])

TokenId = Annotated[int, Path(ge=1, le=2**62)]
UserId = Annotated[int, Path(ge=1, le=2**62)]
_ERROR = {"model": ErrorBody}
# Statuses of a refused form, by problem code (the rest are the user's to fix: 400).
_FORM_STATUS = {"duplicate_user": 409, "remove_self": 409, "not_found": 404}
_SHOP = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")


def _sources(ws: Workspace) -> list[SourceOut]:
    shop = ws.settings.shopify.shop if ws.settings.shopify else None
    return [
        SourceOut(kind=s.kind, path=s.path, customers_path=s.customers_path,
                  rows=s.rows if s.kind == "generic" else None,
                  shop=shop if s.kind == "shopify" else None)
        for s in ws.settings.sources
    ]


def _shopify(ws: Workspace) -> ShopifyOut | None:
    found = connection_status(ws)
    if found is None:
        return None
    return ShopifyOut(shop=found.shop, api_version=found.api_version, status=found.status,
                      granted=found.granted, required=list(REQUIRED_SCOPES),
                      missing=found.missing, problem=found.problem,
                      token_from_env=found.token_from_env, auth=found.auth)


def _users(ws: Workspace, user: accounts.User) -> list[UserOut]:
    return [UserOut(**u, you=u["id"] == user.id)
            for u in accounts.list_users(ws.state, ws.settings.shop.id)]


def _settings(ws: Workspace, user: accounts.User, shopify: ShopifyOut | None) -> SettingsOut:
    s = ws.settings
    return SettingsOut(
        shop_id=s.shop.id, shop_name=s.shop.name, timezone=s.shop.timezone,
        currency=s.shop.currency, subtract_refunds=s.metrics.subtract_refunds,
        engine=engine_name(ws.warehouse), state_store=ws.state.dialect.name,
        sources=_sources(ws),
        tokens=[TokenOut(**t) for t in accounts.list_tokens(ws.state, user)],
        default_language=s.web.default_language,
        schedule=ScheduleIn(enabled=s.schedule.enabled, time=s.schedule.time),
        shopify=shopify, users=_users(ws, user),
    )


def page_of(page: Page, ws: Workspace, user: accounts.User, status_code: int = 200,
          shopify: ShopifyOut | None = None, **values: Any) -> Response:
    """The settings page (``shopify``: the live check's result, else it is made now)."""
    values = {"new_token": None, "problem": None, "saved": None, "line_check": None, **values}
    data = _settings(ws, user, shopify or _shopify(ws))
    channels = channels_of(FilePath(ws.folder), ws.settings)
    return page("settings.html", status_code=status_code, data=data, channels=channels,
                **values)


def _checked_first(request: Request) -> tuple[WebApp, ShopifyOut | None]:
    """The Shopify check, made before taking the workspace's turn (``WebApp.lock``): it
    reads only the settings and secrets files, and a slow Shopify must not hold up every
    other page."""
    state = web_app(request)
    return state, _shopify(state.workspace)


def refused(page: Page, ws: Workspace, user: accounts.User, section: str,
             code: str, **params: Any) -> Response:
    """The settings page again, saying what could not be saved and why."""
    problem = {"section": section, "code": code, "params": params}
    return page_of(page, ws, user, _FORM_STATUS.get(code, 400), problem=problem)


def saved(section: str) -> Response:
    return RedirectResponse(f"/settings?saved={section}#{section}", status_code=303)


# ------------------------------------------------------------------ reading


@router.get("/api/settings", response_model=SettingsOut, summary="Workspace settings",
            description="The Shopify connection's status comes from a live check.")
def settings_json(request: Request, user: CurrentUser) -> SettingsOut:
    state, shopify = _checked_first(request)
    with state.lock:
        return _settings(state.workspace, user, shopify)


@router.get("/settings", include_in_schema=False)
def settings_page(request: Request, user: CurrentUser, page: Page,
                  saved: str | None = None) -> Response:
    state, shopify = _checked_first(request)
    with state.lock:
        return page_of(page, state.workspace, user, shopify=shopify, saved=saved)


# ------------------------------------------------------------------ schedule and language


@router.post("/settings/schedule", include_in_schema=False)
def schedule_form(request: Request, ws: WorkspaceDep, user: CurrentUser, page: Page,
                  time: Annotated[str, Form(max_length=20)] = "",
                  enabled: Annotated[str, Form(max_length=10)] = "") -> Response:
    """The form twin of ``PUT /api/schedule`` (routes.jobs): same setting, same effect."""
    try:
        schedule = config.ScheduleSettings(enabled=bool(enabled), time=time.strip())
    except ValidationError:
        return refused(page, ws, user, "schedule", "bad_time", time=time)
    config.save_schedule(FilePath(ws.folder), schedule)
    ws.settings.schedule = schedule
    # NOTE: a server that runs the schedule (segmentry.app.jobs.Scheduler) recomputes its next run.
    scheduler = getattr(web_app(request), "scheduler", None)
    if scheduler is not None:
        scheduler.reschedule()
    return saved("schedule")


def _save_language(ws: Workspace, language: LanguageIn) -> None:
    section = config.WebSettings(default_language=language.default_language)
    ws.settings = config.save_section(FilePath(ws.folder), "web", section)


@router.put("/api/settings/language", response_model=LanguageIn,
            summary="Set the default language of the pages")
def language_json(ws: WorkspaceDep, body: LanguageIn) -> LanguageIn:
    _save_language(ws, body)
    return body


@router.post("/settings/language", include_in_schema=False)
def language_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
                  default_language: Annotated[str, Form(max_length=10)] = "") -> Response:
    try:
        language = LanguageIn(default_language=default_language)  # type: ignore[arg-type]
    except ValidationError:
        return refused(page, ws, user, "language", "bad_language")
    _save_language(ws, language)
    return saved("language")


# ------------------------------------------------------------------ Shopify


def _shop_domain(text: str) -> str:
    """``my-store.myshopify.com`` from what a user pastes (an admin URL's host too)."""
    shop = text.strip().lower().removeprefix("https://").removeprefix("http://")
    shop = shop.split("/")[0]
    if not _SHOP.fullmatch(shop):
        raise SegmentryError("{shop!r} is not a shop domain like my-store.myshopify.com.",
                             code="bad_shop", params={"shop": text})
    return shop


def _reconnect(ws: Workspace, body: ShopifyConnect) -> ShopifyOut:
    """Connect (again) with a new token: `segmentry connect shopify`'s own steps, with a
    client that gives up quickly (a page is waiting)."""
    shop = _shop_domain(body.shop)
    old = ws.settings.shopify if ws.settings.shopify and ws.settings.shopify.shop == shop \
        else config.ShopifySettings(shop=shop)
    with ShopifyClient(shop, body.token.strip(), api_version=old.api_version,
                       endpoint=old.endpoint, timeout=10, max_retries=1) as client:
        connect_workspace(ws, shop, body.token.strip(), api_version=old.api_version,
                          endpoint=old.endpoint, client=client)
    status = _shopify(ws)
    assert status is not None
    return status


@router.put("/api/settings/shopify", response_model=ShopifyOut,
            responses={400: _ERROR},
            summary="Connect to Shopify (again) with an Admin API access token")
def shopify_json(ws: WorkspaceDep, body: ShopifyConnect) -> ShopifyOut:
    return _reconnect(ws, body)


@router.post("/settings/shopify", include_in_schema=False)
def shopify_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
                 shop: Annotated[str, Form(max_length=255)] = "",
                 token: Annotated[str, Form(max_length=500)] = "") -> Response:
    if not shop.strip() or not token.strip():
        return refused(page, ws, user, "shopify", "shop_and_token")
    try:
        _reconnect(ws, ShopifyConnect(shop=shop, token=token))
    except MissingScopes as e:
        return refused(page, ws, user, "shopify", e.code, missing=", ".join(e.missing))
    except SegmentryError as e:
        return refused(page, ws, user, "shopify", e.code, shop=shop, detail=e.message)
    return saved("shopify")


def _shopify_defaults(ws: Workspace, shop: str) -> config.ShopifySettings:
    s = ws.settings.shopify
    return s if s and s.shop == shop else config.ShopifySettings(shop=shop)


@router.post("/settings/shopify/client-credentials", include_in_schema=False)
def client_credentials_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
                            shop: Annotated[str, Form(max_length=255)] = "",
                            client_id: Annotated[str, Form(max_length=200)] = "",
                            client_secret: Annotated[str, Form(max_length=500)] = "") -> Response:
    """An app made in the Dev Dashboard for the shop's own organization: tokens by the client
    credentials grant (the secret goes to the secrets file, as a token does)."""
    if not (shop.strip() and client_id.strip() and client_secret.strip()):
        return refused(page, ws, user, "shopify", "shop_and_client")
    try:
        domain = _shop_domain(shop)
        old = _shopify_defaults(ws, domain)
        connect_client_credentials(ws, domain, client_id.strip(), client_secret.strip(),
                                   api_version=old.api_version, endpoint=old.endpoint,
                                   timeout=10, max_retries=1)
    except MissingScopes as e:
        return refused(page, ws, user, "shopify", e.code, missing=", ".join(e.missing))
    except SegmentryError as e:
        return refused(page, ws, user, "shopify", e.code, shop=shop, detail=e.message)
    return saved("shopify")


@router.post("/settings/shopify/install", include_in_schema=False)
def install_form(request: Request, ws: WorkspaceDep, user: CurrentUser, page: Page,
                 shop: Annotated[str, Form(max_length=255)] = "",
                 client_id: Annotated[str, Form(max_length=200)] = "",
                 client_secret: Annotated[str, Form(max_length=500)] = "") -> Response:
    """An app distributed to several stores: off to Shopify's approval page; Shopify sends the
    browser back to :func:`oauth_callback`."""
    if not (shop.strip() and client_id.strip()):
        return refused(page, ws, user, "shopify", "shop_and_client")
    try:
        domain = _shop_domain(shop)
        old = _shopify_defaults(ws, domain)
        url = begin_install(ws, domain, client_id.strip(), str(request.url_for("oauth_callback")),
                            client_secret=client_secret.strip() or None,
                            endpoint=old.endpoint, api_version=old.api_version)
    except SegmentryError as e:
        return refused(page, ws, user, "shopify", e.code, shop=shop, detail=e.message)
    return RedirectResponse(url, status_code=303)


@router.get(CALLBACK_PATH, include_in_schema=False, name="oauth_callback")
def oauth_callback(request: Request, ws: WorkspaceDep, user: CurrentUser,
                   page: Page) -> Response:
    """Shopify's redirect after the merchant approved the app: checked (hmac, state, shop)
    before the code is exchanged for an offline token."""
    try:
        finish_install(ws, dict(request.query_params))
    except MissingScopes as e:
        return refused(page, ws, user, "shopify", e.code, missing=", ".join(e.missing))
    except SegmentryError as e:
        return refused(page, ws, user, "shopify", e.code, detail=e.message)
    return saved("shopify")


# ------------------------------------------------------------------ users


@router.post("/api/users", response_model=UserOut, status_code=201,
             responses={400: _ERROR, 409: _ERROR}, summary="Add a user of this shop")
def add_user_json(ws: WorkspaceDep, user: CurrentUser, body: UserCreate) -> UserOut:
    added = accounts.create_user(ws.state, body.email, body.password, ws.settings.shop.id)
    return next(u for u in _users(ws, user) if u.id == added.id)


@router.delete("/api/users/{user_id}", status_code=204, responses={404: _ERROR, 409: _ERROR},
               summary="Remove a user (with their sessions and tokens)")
def remove_user_json(ws: WorkspaceDep, user: CurrentUser, user_id: UserId) -> Response:
    accounts.remove_user(ws.state, user, user_id)
    return Response(status_code=204)


@router.put("/api/users/me/password", status_code=204, responses={400: _ERROR},
            summary="Change your password (your other sessions end)")
def password_json(request: Request, ws: WorkspaceDep, user: CurrentUser,
                  body: PasswordChange) -> Response:
    accounts.change_password(ws.state, user, body.current_password, body.new_password,
                             keep_session=request.cookies.get(SESSION_COOKIE))
    return Response(status_code=204)


@router.post("/settings/users", include_in_schema=False)
def add_user_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
                  email: Annotated[str, Form(max_length=320)] = "",
                  password: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        accounts.create_user(ws.state, email, password, ws.settings.shop.id)
    except accounts.AccountError as e:
        return refused(page, ws, user, "users", e.code, email=email.strip(),
                        minimum=accounts.MIN_PASSWORD)
    return saved("users")


@router.post("/settings/users/{user_id}/remove", include_in_schema=False)
def remove_user_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
                     user_id: UserId) -> Response:
    try:
        accounts.remove_user(ws.state, user, user_id)
    except accounts.AccountError as e:
        return refused(page, ws, user, "users", e.code)
    return saved("users")


@router.post("/settings/password", include_in_schema=False)
def password_form(request: Request, ws: WorkspaceDep, user: CurrentUser, page: Page,
                  current_password: Annotated[str, Form(max_length=1000)] = "",
                  new_password: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        accounts.change_password(ws.state, user, current_password, new_password,
                                 keep_session=request.cookies.get(SESSION_COOKIE))
    except accounts.AccountError as e:
        return refused(page, ws, user, "password", e.code, minimum=accounts.MIN_PASSWORD)
    return saved("password")


# ------------------------------------------------------------------ API tokens


@router.post("/api/tokens", response_model=TokenCreated, status_code=201,
             summary="Create an API token (shown once)")
def create_token_json(ws: WorkspaceDep, user: CurrentUser, body: TokenCreate) -> TokenCreated:
    token = accounts.create_token(ws.state, user.email, body.name)
    return TokenCreated(name=body.name, token=token)


@router.delete("/api/tokens/{token_id}", status_code=204,
               responses={404: _ERROR}, summary="Revoke an API token")
def revoke_token_json(ws: WorkspaceDep, user: CurrentUser, token_id: TokenId) -> Response:
    if not accounts.revoke_token(ws.state, user, token_id):
        raise SegmentryError("There is no such token.", code="not_found")
    return Response(status_code=204)


@router.post("/settings/tokens", include_in_schema=False)
def create_token_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
                      name: Annotated[str, Form(min_length=1, max_length=200)]) -> Response:
    token = accounts.create_token(ws.state, user.email, name)
    return page_of(page, ws, user, new_token=token)


@router.post("/settings/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token_form(ws: WorkspaceDep, user: CurrentUser, token_id: TokenId) -> Response:
    accounts.revoke_token(ws.state, user, token_id)
    return saved("tokens")


@router.post("/logout", include_in_schema=False)
def logout(request: Request, store: AccountsDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.end_session(store.engine, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
