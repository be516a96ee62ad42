"""Storefront events from segmentry's Shopify web pixel: the pixel's code, and what it sends.

The merchant adds a *custom pixel* (Shopify admin → Settings → Customer events) whose code is
:func:`pixel_script`: it subscribes to Shopify's standard ``product_viewed`` and
``collection_viewed`` events (Web Pixels API, ``analytics.subscribe``) and posts each one, as
JSON, to segmentry's ``POST /pixel/events`` (:mod:`segmentry.web.routes.pixel`). Only events of
a logged-in customer (the pixel's ``init.data.customer.id``) are sent; a visitor who is not
logged in is no customer of the ledger.

The body the pixel sends (at most :data:`MAX_BODY` bytes)::

    {"shop": "<shop id>", "token": "<pixel token>",
     "event": {"id": "<Shopify's event id>", "name": "product_viewed",
               "timestamp": "2025-06-01T03:04:05.678Z", "customer_id": "<customer id>",
               "product_id": "<product id>"}}        # collection_viewed: "collection_id"

:func:`read_pixel_event` checks it and turns it into a ``customer_events`` row. The token
(:func:`pixel_token`) is NOT a secret: it stands in the storefront's page for anyone to read.
It keeps stray posts and other shops' pixels out; the event id makes a repeated post one event.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from segmentry.core.errors import DataImportError
from segmentry.core.secrets import load_secret, save_secret
from segmentry.ledger.store import arrow_schema

__all__ = [
    "MAX_BODY",
    "PIXEL_EVENTS",
    "PIXEL_TOKEN",
    "PIXEL_TOKEN_ENV",
    "PixelRefused",
    "pixel_script",
    "pixel_token",
    "read_pixel_event",
]

# The largest body accepted: one event is a few hundred bytes.
MAX_BODY = 4096
# The standard events the pixel sends → the id field each carries.
PIXEL_EVENTS = {"product_viewed": "product_id", "collection_viewed": "collection_id"}
PIXEL_TOKEN = "pixel_token"  # its name in the workspace's secrets file
PIXEL_TOKEN_ENV = "SEGMENTRY_PIXEL_TOKEN"
_ID = re.compile(r"[0-9A-Za-z_\-:/.]{1,200}")
_GID = re.compile(r"^gid://shopify/[A-Za-z]+/")
_PLACEHOLDERS = ("__SEGMENTRY_URL__", "__SEGMENTRY_SHOP__", "__SEGMENTRY_TOKEN__")


class PixelRefused(Exception):
    """A post the endpoint refuses: the HTTP status and a short English text (read by no one
    but a developer looking at the browser's network tab)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def pixel_token(folder: Path, *, create: bool = False) -> str | None:
    """The shop's pixel token (environment, else the secrets file); ``create`` makes one."""
    token = load_secret(folder, PIXEL_TOKEN, PIXEL_TOKEN_ENV)
    if token is None and create:
        token = secrets.token_urlsafe(24)
        save_secret(folder, PIXEL_TOKEN, token)
    return token


def pixel_script(url: str, shop_id: str, token: str) -> str:
    """The custom pixel's JavaScript, posting to ``url`` (segmentry's public https address).

    >>> code = pixel_script("https://crm.example.jp", "shop", "t0k")
    >>> '"https://crm.example.jp/pixel/events"' in code, '"t0k"' in code
    (True, True)
    """
    if not url.startswith("https://") and not url.startswith("http://localhost"):
        raise DataImportError(
            "{url} is not an https address: a storefront page can only post to https.",
            code="pixel_url", params={"url": url})
    text = resources.files("segmentry.connectors.shopify").joinpath(
        "templates/web_pixel.js").read_text(encoding="utf-8")
    values = (f"{url.rstrip('/')}/pixel/events", shop_id, token)
    for placeholder, value in zip(_PLACEHOLDERS, values, strict=True):
        text = text.replace(placeholder, json.dumps(value)[1:-1])
    return text


def read_pixel_event(body: bytes, shop_id: str, token: str | None) -> pa.Table | None:
    """The ``customer_events`` row of one post, or None when it names no customer.

    Refused (:class:`PixelRefused`): 413 above :data:`MAX_BODY`, 400 when not the shape
    above, 404 for another shop, 403 for a wrong token (or none set up).
    """
    if len(body) > MAX_BODY:
        raise PixelRefused(413, "too large")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as e:
        raise PixelRefused(400, "not JSON") from e
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), dict):
        raise PixelRefused(400, "no event")
    if payload.get("shop") != shop_id:
        raise PixelRefused(404, "unknown shop")
    sent = payload.get("token")
    if token is None or not isinstance(sent, str) or not secrets.compare_digest(sent, token):
        raise PixelRefused(403, "wrong token")
    return _row(payload["event"], shop_id)


def _row(event: dict[str, Any], shop_id: str) -> pa.Table | None:
    name = event.get("name")
    if name not in PIXEL_EVENTS:
        raise PixelRefused(400, "unknown event")
    event_id, thing = _id(event.get("id")), _id(event.get(PIXEL_EVENTS[name]))
    if event_id is None or thing is None:
        raise PixelRefused(400, f"an event needs id and {PIXEL_EVENTS[name]}")
    occurred = _time(event.get("timestamp"))
    customer = event.get("customer_id")
    if customer is None:
        return None  # not logged in: no customer to tie it to
    customer_id = _id(customer)
    if customer_id is None:
        raise PixelRefused(400, "bad customer_id")
    row = {"shop_id": shop_id, "event_id": f"pixel:{event_id}", "customer_id": customer_id,
           "source": "storefront", "event": name, "occurred_at": occurred,
           PIXEL_EVENTS[name]: thing}
    schema = arrow_schema("customer_events", local_dates=False)
    return pa.Table.from_pylist([row], schema=schema)


def _id(value: Any) -> str | None:
    """An id as text, Shopify's ``gid://shopify/Product/123`` read as ``123``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    return _GID.sub("", value)


def _time(value: Any) -> dt.datetime:
    """An ISO 8601 time as UTC without zone (the ledger's timestamps)."""
    if not isinstance(value, str) or len(value) > 40:
        raise PixelRefused(400, "bad timestamp")
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise PixelRefused(400, "bad timestamp") from e
    if stamp.tzinfo is None:
        raise PixelRefused(400, "a timestamp needs its zone")
    return stamp.astimezone(dt.UTC).replace(tzinfo=None)
