"""Unsubscribing from e-mail, for customers (no sign-in): ``GET /unsubscribe?t=…`` asks to
confirm, ``POST /unsubscribe?t=…`` records it. The POST is also RFC 8058's one-click
unsubscribe: mail clients (Gmail, Apple Mail) post ``List-Unsubscribe=One-Click`` to the
``List-Unsubscribe`` address with no cookie and no form token, so the signed token ``t``
(:mod:`segmentry.app.messaging.unsubscribe`) is the only credential, and the answer is 200.

A GET records nothing (mail scanners follow links). Recording is idempotent. When the shop is
connected to Shopify the unsubscription is written back there right after the answer
(:mod:`segmentry.activation.shopify.consent`); what cannot be written now is retried by the
daily run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from segmentry.activation.shopify.consent import write_back
from segmentry.app.messaging.unsubscribe import key_for, verify
from segmentry.app.workspace import Workspace
from segmentry.core.clock import utcnow
from segmentry.core.errors import SegmentryError
from segmentry.i18n.catalogue import LANGUAGES
from segmentry.store import unsubscriptions
from segmentry.web.deps import LANG_COOKIE, Renderer, web_app
from segmentry.web.hints import error_body

__all__ = ["router"]

router = APIRouter(tags=["public"])
log = logging.getLogger("segmentry.web.unsubscribe")

Token = Annotated[str, Query(alias="t", max_length=2000, description="The signed token of "
                             "the message's unsubscribe link.")]


def customer_language(request: Request) -> str:
    """The customer's language: the page's language switch, else the browser's first language
    segmentry speaks, else Japanese (a customer, unlike a manager, has no workspace default)."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "ja"


def _masked(email: str) -> str:
    """``h***@example.jp``: enough for the customer to recognise, not a list to harvest."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def _page(request: Request, status_code: int, **values: object) -> Response:
    page = Renderer(request, customer_language(request))
    values = {"email": None, "done": False, "token": "", **values}
    return page("unsubscribe.html", status_code=status_code, **values)


def _verified(ws: Workspace, token: str) -> tuple[str, str] | None:
    return verify(key_for(Path(ws.folder)), token)


@router.get("/unsubscribe", include_in_schema=False)
def confirm_page(request: Request, t: Token = "") -> Response:
    found = _verified(web_app(request).workspace, t)
    if found is None:
        return _page(request, 400, bad=True)
    return _page(request, 200, bad=False, email=_masked(found[1]), token=t)


@router.post("/unsubscribe", response_class=PlainTextResponse,
             summary="Unsubscribe from e-mail (RFC 8058 one-click; no sign-in)",
             description="The body is `List-Unsubscribe=One-Click` (a mail client) or the "
             "confirmation page's form; the token `t` names the customer and address. Answers "
             "200 whether or not the address had unsubscribed before; 400 for a bad token.",
             responses={200: {"content": {"text/html": {}}},
                        400: {"description": "The token is not the workspace's (changed, cut "
                              "short or forged)"}})
def unsubscribe(request: Request, tasks: BackgroundTasks, t: Token = "") -> Response:
    # NOTE: no workspace lock: only the state store (thread-safe) and the secrets file are used.
    ws = web_app(request).workspace
    found = _verified(ws, t)
    wants_html = "text/html" in request.headers.get("accept", "")
    if found is None:
        if wants_html:
            return _page(request, 400, bad=True)
        refused = SegmentryError("This unsubscribe link is not valid.", code="bad_link")
        body = error_body(refused, customer_language(request))
        return JSONResponse({"error": body}, status_code=400)
    customer_id, email = found
    how = "page" if wants_html else "one_click"
    with ws.state.begin() as conn:
        unsubscriptions.record(conn, email, customer_id, how, at=utcnow())
    if ws.settings.shopify is not None:
        tasks.add_task(_write_back, ws)
    if wants_html:
        return _page(request, 200, bad=False, done=True, email=_masked(email))
    return PlainTextResponse("Unsubscribed.")


def _write_back(ws: Workspace) -> None:
    try:
        write_back(ws)
    except SegmentryError as e:  # kept in the queue; the daily run tries again
        log.warning("unsubscription not written back to Shopify yet: %s", e)
