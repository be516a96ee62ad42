"""Messaging channels on the Settings page: the LINE Official Account (name, channel access
token, channel secret) and the SMTP server e-mail goes through. Credentials are entered once,
kept in the workspace's ``secrets`` file and shown masked afterwards; the rest is written to
``segmentry.toml`` (``[line]``, ``[email]``). "Test connection" reads LINE's monthly quota.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Form, Response
from pydantic import ValidationError

from segmentry.app.messaging.service import Messaging
from segmentry.app.workspace import Workspace
from segmentry.core.errors import SegmentryError
from segmentry.web.deps import CurrentUser, Page, WorkspaceDep, require_user
from segmentry.web.messaging import (
    ChannelsOut,
    EmailChannelIn,
    LineChannelIn,
    LineCheckOut,
    channels_of,
    save_email,
    save_line,
)
from segmentry.web.routes.settings import page_of, refused, saved
from segmentry.web.schemas import ErrorBody

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["settings"])
_ERROR = {"model": ErrorBody}


def _channels(ws: Workspace) -> ChannelsOut:
    return channels_of(FilePath(ws.folder), ws.settings)


def _needs_token(ws: Workspace, body: LineChannelIn) -> bool:
    line = _channels(ws).line
    return not body.token.strip() and (line is None or line.token is None)


def _set_line(ws: Workspace, body: LineChannelIn) -> ChannelsOut:
    if _needs_token(ws, body):
        raise SegmentryError("Enter the channel access token.", code="line_token_needed")
    ws.settings = save_line(FilePath(ws.folder), ws.settings, body)
    return _channels(ws)


def _set_email(ws: Workspace, body: EmailChannelIn) -> ChannelsOut:
    ws.settings = save_email(FilePath(ws.folder), ws.settings, body)
    return _channels(ws)


def _check_line(ws: Workspace) -> LineCheckOut:
    return LineCheckOut(ok=True, quota_left=Messaging(ws).channel("line").remaining_quota())


# ------------------------------------------------------------------ JSON


@router.get("/api/settings/channels", response_model=ChannelsOut,
            summary="The LINE and e-mail channels (credentials masked)")
def channels_json(ws: WorkspaceDep) -> ChannelsOut:
    return _channels(ws)


@router.put("/api/settings/line", response_model=ChannelsOut, responses={400: _ERROR},
            summary="Set up the LINE channel (credentials go to the secrets file)")
def line_json(ws: WorkspaceDep, body: LineChannelIn) -> ChannelsOut:
    return _set_line(ws, body)


@router.put("/api/settings/email", response_model=ChannelsOut, responses={400: _ERROR},
            summary="Set up the e-mail channel (the password goes to the secrets file)")
def email_json(ws: WorkspaceDep, body: EmailChannelIn) -> ChannelsOut:
    return _set_email(ws, body)


@router.post("/api/settings/line/check", response_model=LineCheckOut,
             responses={400: _ERROR}, summary="Test the LINE channel: read its monthly quota")
def line_check_json(ws: WorkspaceDep) -> LineCheckOut:
    return _check_line(ws)


# ------------------------------------------------------------------ forms


@router.post("/settings/line", include_in_schema=False)
def line_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
              name: Annotated[str, Form(max_length=100)] = "",
              token: Annotated[str, Form(max_length=1000)] = "",
              channel_secret: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        _set_line(ws, LineChannelIn(name=name.strip() or "LINE", token=token,
                                    channel_secret=channel_secret))
    except SegmentryError as e:
        return refused(page, ws, user, "line", e.code, detail=e.message)
    return saved("line")


@router.post("/settings/email", include_in_schema=False)
def email_form(ws: WorkspaceDep, user: CurrentUser, page: Page,
               host: Annotated[str, Form(max_length=255)] = "",
               port: Annotated[str, Form(max_length=10)] = "587",
               security: Annotated[str, Form(max_length=20)] = "starttls",
               username: Annotated[str, Form(max_length=320)] = "",
               password: Annotated[str, Form(max_length=1000)] = "",
               from_address: Annotated[str, Form(max_length=320)] = "",
               from_name: Annotated[str, Form(max_length=200)] = "",
               web_url: Annotated[str, Form(max_length=500)] = "") -> Response:
    values: dict[str, Any] = {
        "host": host.strip(), "port": port.strip() or "587", "security": security,
        "username": username, "password": password, "from_address": from_address.strip(),
        "from_name": from_name, "web_url": web_url.strip()}
    try:
        body = EmailChannelIn(**values)
    except ValidationError as e:
        fields = sorted({str(err["loc"][0]) for err in e.errors() if err.get("loc")})
        return refused(page, ws, user, "email", "email_fields", fields=", ".join(fields))
    _set_email(ws, body)
    return saved("email")


@router.post("/settings/line/check", include_in_schema=False)
def line_check_form(ws: WorkspaceDep, user: CurrentUser, page: Page) -> Response:
    try:
        checked = _check_line(ws)
    except SegmentryError as e:
        return refused(page, ws, user, "line", e.code, detail=e.message)
    return page_of(page, ws, user, line_check=checked)
