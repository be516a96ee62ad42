"""Settings (sources, engine, zone, currency, refunds), API tokens, and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from segmentry.engine import engine_name
from segmentry.errors import SegmentryError
from segmentry.web import accounts
from segmentry.web.deps import SESSION_COOKIE, CurrentUser, Page, WorkspaceDep, require_user
from segmentry.web.schemas import (
    ErrorBody,
    SettingsOut,
    SourceOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
)
from segmentry.workspace import Workspace

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["settings"])

TokenId = Annotated[int, Path(ge=1, le=2**62)]


def _settings(ws: Workspace, user: accounts.User) -> SettingsOut:
    s = ws.settings
    return SettingsOut(
        shop_id=s.shop.id, shop_name=s.shop.name, timezone=s.shop.timezone,
        currency=s.shop.currency, subtract_refunds=s.metrics.subtract_refunds,
        engine=engine_name(ws.warehouse), state_store=ws.state.dialect.name,
        sources=[SourceOut(kind=src.kind, path=src.path) for src in s.sources],
        tokens=[TokenOut(**t) for t in accounts.list_tokens(ws.state, user)],
    )


@router.get("/api/settings", response_model=SettingsOut, summary="Workspace settings")
def settings_json(ws: WorkspaceDep, user: CurrentUser) -> SettingsOut:
    return _settings(ws, user)


@router.get("/settings", include_in_schema=False)
def settings_page(ws: WorkspaceDep, user: CurrentUser, page: Page) -> Response:
    return page("settings.html", data=_settings(ws, user), new_token=None)


@router.post("/api/tokens", response_model=TokenCreated, status_code=201,
             summary="Create an API token (shown once)")
def create_token_json(ws: WorkspaceDep, user: CurrentUser, body: TokenCreate) -> TokenCreated:
    token = accounts.create_token(ws.state, user.email, body.name)
    return TokenCreated(name=body.name, token=token)


@router.delete("/api/tokens/{token_id}", status_code=204,
               responses={404: {"model": ErrorBody}}, summary="Revoke an API token")
def revoke_token_json(ws: WorkspaceDep, user: CurrentUser, token_id: TokenId) -> Response:
    if not accounts.revoke_token(ws.state, user, token_id):
        raise SegmentryError("There is no such token.", code="not_found")
    return Response(status_code=204)


@router.post("/settings/tokens", include_in_schema=False)
def create_token_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
                      name: Annotated[str, Form(min_length=1, max_length=200)]) -> Response:
    token = accounts.create_token(ws.state, user.email, name)
    return page("settings.html", data=_settings(ws, user), new_token=token)


@router.post("/settings/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token_form(ws: WorkspaceDep, user: CurrentUser, token_id: TokenId) -> Response:
    accounts.revoke_token(ws.state, user, token_id)
    return RedirectResponse("/settings", status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, ws: WorkspaceDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.end_session(ws.state, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
