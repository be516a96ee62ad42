"""Shopify webhooks in the web app: the receiving endpoint and the queue's state.

``POST /webhooks/shopify`` receives Shopify's deliveries exactly as ``segmentry serve-webhooks``
does (:meth:`~segmentry.connectors.shopify.webhooks.WebhookReceiver.receive`): no sign-in and
no CSRF token — the HMAC signature with the app's client secret is the authentication. The
delivery is queued in the state store and answered at once; the server applies the queue as a
background job (see :mod:`segmentry.web.background`). The same limits as serve-webhooks apply:
411 without ``Content-Length``, 400 when it is not a non-negative number, 413 (unread) above the
body limit, 408 when the body takes longer than the read timeout, 503 with ``Retry-After`` when
too many deliveries are being received at once.

``GET /api/webhooks`` (signed in): pending / retrying / failed counts and the failed
deliveries; ``POST /api/webhooks/retry`` queues failed ones again. The Runs page shows the same.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.webhook_queue import WebhookQueue
from segmentry.connectors.shopify.webhooks import (
    MAX_BODY,
    MAX_CONCURRENT,
    READ_TIMEOUT,
    Refused,
    WebhookReceiver,
    body_length,
)
from segmentry.core.errors import SegmentryError
from segmentry.core.secrets import load_secret
from segmentry.web.deps import require_user, web_app
from segmentry.web.schemas import UtcDatetime

__all__ = ["WebhookLimits", "receiver", "router", "webhook_status"]

log = logging.getLogger("segmentry.web")

receiver = APIRouter(tags=["webhooks"])  # no sign-in: the signature is the authentication
router = APIRouter(dependencies=[require_user], tags=["webhooks"])


class WebhookLimits:
    """The endpoint's limits (``app.state.webhook_limits`` to change them)."""

    def __init__(
        self,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
        max_concurrent: int = MAX_CONCURRENT,
    ) -> None:
        self.max_body, self.read_timeout = max_body, read_timeout
        self.max_concurrent, self.receiving = max_concurrent, 0


def _limits(request: Request) -> WebhookLimits:
    limits = getattr(request.app.state, "webhook_limits", None)
    if limits is None:
        limits = request.app.state.webhook_limits = WebhookLimits()
    assert isinstance(limits, WebhookLimits)
    return limits


def _text(status: int, text: str, **headers: str) -> Response:
    return PlainTextResponse(text, status_code=status, headers=headers or None)


@receiver.post("/webhooks/shopify", include_in_schema=False)
async def receive_webhook(request: Request) -> Response:
    limits = _limits(request)
    if limits.receiving >= limits.max_concurrent:
        return _text(503, "busy", **{"Retry-After": "5", "Connection": "close"})
    limits.receiving += 1  # NOTE: on the event loop: no lock needed
    try:
        raw = await _body(request, limits)
        secret = _secret(web_app(request).workspace)
        if secret is None:
            return _text(503, "webhooks are not set up (no app secret)")
        hook = WebhookReceiver(
            Path(web_app(request).workspace.folder),
            secret,
            engine=web_app(request).workspace.state,
        )
        status, text = await run_in_threadpool(hook.receive, dict(request.headers), raw)
        return _text(status, text)
    except Refused as e:
        return _text(e.status, e.text, Connection="close")
    finally:
        limits.receiving -= 1


async def _body(request: Request, limits: WebhookLimits) -> bytes:
    """The body, within the limits (see the module docstring)."""
    if request.headers.get("transfer-encoding"):
        raise Refused(411, "Content-Length is required (no chunked bodies)")
    length = body_length(request.headers.get("content-length"), limits.max_body)

    async def read() -> bytes:
        chunks = [chunk async for chunk in request.stream()]
        return b"".join(chunks)

    try:
        raw = await asyncio.wait_for(read(), limits.read_timeout)
    except TimeoutError as e:
        raise Refused(408, "request timeout") from e
    except ClientDisconnect as e:
        raise Refused(400, "the body is shorter than Content-Length") from e
    if len(raw) != length:
        raise Refused(400, "the body does not match Content-Length")
    return raw


def _secret(ws: Workspace) -> str | None:
    """The app's client secret (environment or secrets file), if the workspace has one."""
    if ws.settings.shopify is None:
        return None
    try:
        return load_secret(
            Path(ws.folder), "shopify_webhook_secret", ws.settings.shopify.webhook_secret_env
        )
    except SegmentryError as e:
        log.warning("webhook secret unusable: %s", e.message)
        return None


# ------------------------------------------------------------------ the queue's state


class FailedWebhook(BaseModel):
    """A delivery whose payload could not be applied."""

    webhook_id: str
    topic: str
    shop: str = ""
    received_at: UtcDatetime
    error: str | None = Field(None, description="Why it could not be applied (English).")


class WaitingWebhook(BaseModel):
    """A delivery waiting for the warehouse (retried later)."""

    webhook_id: str
    topic: str
    received_at: UtcDatetime
    attempts: int
    next_attempt_at: UtcDatetime | None = None
    last_error: str | None = None


class WebhooksOut(BaseModel):
    """Shopify webhooks received and where they stand."""

    pending: int = Field(0, description="Received, not applied yet (retrying included).")
    retrying: int = Field(0, description="Pending after a try that found the warehouse busy.")
    failed: int = Field(0, description="Could never be applied (see failed_webhooks).")
    applied: int = 0
    failed_webhooks: list[FailedWebhook] = []
    retrying_webhooks: list[WaitingWebhook] = []


class RetryIn(BaseModel):
    webhook_ids: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        None, max_length=1000, description="Which ones (at most 1,000); none: every failed one."
    )


class RetryOut(BaseModel):
    requeued: int


def webhook_status(ws: Workspace, limit: int = 50) -> WebhooksOut:
    """The queue's counts and its failed and retrying deliveries (the Runs page's section)."""
    queue = WebhookQueue.existing(ws.state)
    if queue is None:
        return WebhooksOut(pending=0, retrying=0, failed=0)
    counts = queue.counts()
    waiting = [r for r in queue.listed("pending", limit) if r["attempts"]]
    return WebhooksOut(
        pending=counts["pending"],
        retrying=counts["retrying"],
        failed=counts["failed"],
        applied=counts["applied"],
        failed_webhooks=[FailedWebhook(**r) for r in queue.listed("failed", limit)],
        retrying_webhooks=[WaitingWebhook(**r) for r in waiting],
    )


@router.get(
    "/api/webhooks",
    response_model=WebhooksOut,
    summary="Shopify webhooks: pending, retrying and failed deliveries",
)
def webhooks_json(request: Request) -> WebhooksOut:
    return webhook_status(web_app(request).workspace)


@router.post(
    "/api/webhooks/retry",
    response_model=RetryOut,
    summary="Queue failed Shopify webhooks again (all, or those listed)",
)
def retry_json(request: Request, body: RetryIn) -> RetryOut:
    queue = WebhookQueue(web_app(request).workspace.state)
    return RetryOut(requeued=queue.retry(body.webhook_ids))


@router.post("/runs/webhooks/retry", include_in_schema=False)
def retry_form(request: Request) -> Response:
    WebhookQueue(web_app(request).workspace.state).retry()
    return RedirectResponse("/runs#webhooks", status_code=303)
