"""``POST /line/webhook``: LINE's webhooks for the account of ``[line]`` (set this address as
the channel's Webhook URL in the LINE Developers console; docs/activation.md).

No sign-in: ``X-Line-Signature`` (base64 HMAC-SHA256 of the body, keyed with the channel
secret) is the authentication, checked by the official SDK
(:func:`segmentry.activation.line.webhooks.parse_webhook`) before anything in the body is
read. ``follow`` and ``unfollow`` events are stored in the ledger's ``line_events``
(:mod:`segmentry.connectors.line_links`), keyed by LINE's ``webhookEventId``, so a
redelivered event is stored once; other events are acknowledged and ignored.

Answers: 200 ``ok`` (LINE needs a 2xx, also for a body without events: the console's
"Verify" button sends one), 400 a body that is not LINE's JSON, 401 a missing or wrong
signature, 404 no ``[line]`` account, 413 a body over :data:`MAX_BODY`, 503 no channel secret
or the ledger is busy (LINE redelivers when redelivery is on).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from segmentry.activation.line.plugin import CHANNEL_SECRET
from segmentry.activation.line.webhooks import SIGNATURE_HEADER, parse_webhook
from segmentry.connectors.line_links import webhook_rows
from segmentry.core.errors import LineError, SegmentryError
from segmentry.core.secrets import load_secret
from segmentry.ledger.line import record_line_events
from segmentry.web.deps import web_app
from segmentry.web.guards import read_capped

__all__ = ["MAX_BODY", "router"]

log = logging.getLogger("segmentry.web")

router = APIRouter(tags=["line"])  # no sign-in: LINE signs what it sends

# The largest body taken: LINE sends a few events per request (each well under 1 KB).
MAX_BODY = 1024 * 1024


def _text(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status)


@router.post("/line/webhook", include_in_schema=False)
async def receive_line_webhook(request: Request) -> Response:
    raw = await read_capped(request, MAX_BODY)
    if raw is None:
        return _text(413, "too large")
    return await run_in_threadpool(_record, request, raw)


def _record(request: Request, raw: bytes) -> Response:
    state = web_app(request)
    ws = state.workspace
    settings = ws.settings.line
    if settings is None:
        return _text(404, "no LINE account")
    try:
        secret = load_secret(Path(ws.folder), CHANNEL_SECRET, settings.channel_secret_env)
    except SegmentryError as e:  # the secrets file is unusable
        log.warning("LINE channel secret unusable: %s", e.message)
        secret = None
    if not secret:
        return _text(503, "not set up")
    try:
        events = parse_webhook(raw, request.headers.get(SIGNATURE_HEADER), secret)
    except LineError as e:
        return _text(401 if e.code == "line_bad_signature" else 400, e.code)
    rows = webhook_rows(ws.settings.shop.id, events)
    if not rows.num_rows:
        return _text(200, "ok")
    with state.lock:  # NOTE: one warehouse connection for every request
        try:
            record_line_events(ws.warehouse, rows, tz=ws.settings.shop.timezone)
        except SegmentryError as e:
            log.warning("LINE webhook not stored: %s", e.message)
            return _text(503, "try later")
    return _text(200, "ok")
