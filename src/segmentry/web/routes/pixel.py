"""``POST /pixel/events``: storefront events from segmentry's Shopify web pixel.

No sign-in and no CSRF token: the storefront's pages post here (see
:mod:`segmentry.connectors.shopify.pixel` for the body, the token and what is refused). The
answer carries ``Access-Control-Allow-Origin: *``, as a storefront is another origin; the body
is sent as ``text/plain`` so that browsers send no preflight. 202 ``stored`` (the event is in
the ledger), 202 ``ignored`` (no logged-in customer), 202 ``duplicate`` (already stored: the
same event id), else 400 / 403 / 404 / 413 with a short text.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from segmentry.connectors.shopify.pixel import (
    MAX_BODY,
    PixelRefused,
    pixel_token,
    read_pixel_event,
)
from segmentry.core.errors import SegmentryError
from segmentry.web.deps import web_app
from segmentry.web.guards import read_capped

__all__ = ["router"]

log = logging.getLogger("segmentry.web")

router = APIRouter(tags=["pixel"])  # no sign-in: posted by the storefront's pages
_CORS = {"Access-Control-Allow-Origin": "*"}


def _text(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status, headers=_CORS)


@router.post("/pixel/events", include_in_schema=False)
async def receive_pixel_event(request: Request) -> Response:
    raw = await read_capped(request, MAX_BODY)
    if raw is None:
        return _text(413, "too large")
    return await run_in_threadpool(_record, request, raw)


def _record(request: Request, raw: bytes) -> Response:
    state = web_app(request)
    ws = state.workspace
    try:
        token = pixel_token(Path(ws.folder))
        row = read_pixel_event(raw, ws.settings.shop.id, token)
    except PixelRefused as e:
        return _text(e.status, e.text)
    except SegmentryError as e:  # the secrets file is unusable
        log.warning("pixel token unusable: %s", e.message)
        return _text(503, "not set up")
    if row is None:
        return _text(202, "ignored")
    with state.lock:  # NOTE: one warehouse connection for every request
        try:
            stats = ws.record_events(row)
        except SegmentryError as e:
            log.warning("pixel event not stored: %s", e.message)
            return _text(503, "try later")
    return _text(202, "duplicate" if stats.get("customer_events_updated") else "stored")
