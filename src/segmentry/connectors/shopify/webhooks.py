"""Receiving Shopify webhooks: verify, deduplicate, acknowledge fast, apply to the ledger.

:meth:`WebhookReceiver.receive` checks ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the
**raw** body with the app's client secret, compared in constant time; shopify.dev "Verify
webhook deliveries"): a bad signature is answered 401 and nothing is stored. A good delivery is
queued in the state store under its ``X-Shopify-Webhook-Id`` (a repeat is answered 200 and
ignored) and answered at once. The queue (:class:`WebhookQueue`) is the hand-over point:
**whichever process owns the warehouse applies it** (:func:`apply_due`) — the web app as a
background job, ``segmentry serve-webhooks`` when no web app runs, and every daily run at the
start of its ingest stage.

A delivery is applied, or waits, or fails for good:

- applied: its body is forgotten (it may hold personal data);
- waits (the warehouse is busy — the workspace lock is held, DuckDB is open for writing in
  another process — or any engine error): the body is kept, ``attempts`` counts up and
  ``next_attempt_at`` moves out by :func:`.webhook_queue.retry_delay` (5 s, 10 s, 20 s … at
  most an hour);
- fails for good only when its payload can never be applied (not JSON, no id, an unknown
  shape): ``segmentry shopify webhooks`` lists it and ``... webhooks retry`` queues it again.

Topics: ``orders/create|updated|cancelled``, ``customers/create|update``,
``checkouts/create|update`` (abandoned checkouts, completed ones included) (upserts; an older
``updated_at`` never overwrites a newer one, see :mod:`segmentry.ledger.store`),
``customers/delete`` (the customer's rows go, and a late older update does not bring them
back), ``customers/redact`` (email, phone, names and address set to NULL),
``customers/data_request`` (a JSON export of what we hold, written to ``privacy/`` in the
workspace), ``shop/redact`` (every ledger row of the shop goes) and ``app/uninstalled`` (syncs
stop until reconnected).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from segmentry.app.context import open_context, settings_in
from segmentry.app.disclosure import write_data_request
from segmentry.app.erasure import erase_customer, erase_shop_files, finish_erasures
from segmentry.connectors.shopify.mapping import (
    RAW_CHECKOUTS,
    RAW_CUSTOMERS,
    RAW_ORDERS,
    checkouts_batch,
    customers_batch,
    orders_batch,
)
from segmentry.connectors.shopify.sync import set_app_status
from segmentry.connectors.shopify.webhook_queue import Delivery, Drained, WebhookQueue
from segmentry.core.clock import utcnow
from segmentry.core.context import Context, Progress
from segmentry.core.errors import DataImportError, EngineError, LockHeldError
from segmentry.ledger.removals import delete_customer, delete_shop
from segmentry.ledger.store import LedgerBatch, write_batch
from segmentry.store.connection import open_state_store

__all__ = [
    "MAX_BODY",
    "MAX_CONCURRENT",
    "READ_TIMEOUT",
    "TOPICS",
    "Refused",
    "WebhookReceiver",
    "apply_due",
    "apply_queued",
    "apply_webhooks",
    "body_length",
    "has_due_webhooks",
    "verify",
]

log = logging.getLogger("segmentry.webhooks")


# Limits of the HTTP endpoints (serve-webhooks and the web app). Shopify's webhook bodies are
# a few kB; an order with hundreds of lines stays well under a megabyte.
MAX_BODY = 5 * 1024 * 1024  # bytes; a larger Content-Length is answered 413 unread
READ_TIMEOUT = 10.0  # seconds a client may take to send its request
MAX_CONCURRENT = 16  # deliveries handled at once; more are answered 503 with Retry-After


# What a payload that can never be applied raises while it is read or mapped (bad JSON, a
# missing id, a list where an object belongs, values Arrow cannot hold).
_UNUSABLE: tuple[type[BaseException], ...] = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    pa.ArrowException,
    DataImportError,
)


def verify(raw: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is Shopify's HMAC of ``raw`` under ``secret``.

    >>> body = b'{"id": 1}'
    >>> good = base64.b64encode(hmac.new(b"s", body, hashlib.sha256).digest()).decode()
    >>> verify(body, good, "s"), verify(body + b" ", good, "s"), verify(body, None, "s")
    (True, False, False)
    """
    if not signature or not secret:
        return False
    digest = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
    return hmac.compare_digest(digest, signature.strip().encode())


class Refused(Exception):
    """A request answered before its body is read: ``status`` and a short ``text``."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


def body_length(content_length: str | None, limit: int = MAX_BODY) -> int:
    """The body length a request announces, or :class:`Refused` (411 missing, 400 not a
    non-negative number, 413 over ``limit``) — decided before any of the body is read.

    >>> body_length("120")
    120
    >>> [body_length(v, 100) if v == "7" else "refused" for v in ("7", "-1", "abc", "101")]
    [7, 'refused', 'refused', 'refused']
    """
    if content_length is None:
        raise Refused(411, "Content-Length is required")
    text = content_length.strip()
    if not text.isascii() or not text.isdigit():
        raise Refused(400, "Content-Length must be a non-negative whole number")
    if int(text) > limit:
        raise Refused(413, "body too large")
    return int(text)


def can_never_apply(error: BaseException) -> bool:
    """Whether ``error`` says the payload itself is unusable (retrying cannot help)."""
    return isinstance(error, _UNUSABLE)


def _describe(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return f"{type(error).__name__}: {text}"[:2000]


# ---------------------------------------------------------------- applying the queue


def _is_busy(error: BaseException) -> bool:
    """The warehouse cannot be used now: another process holds the lock or the file."""
    return isinstance(error, LockHeldError) or (
        isinstance(error, EngineError) and error.code == "warehouse_locked"
    )


def apply_due(ws: Context, queue: WebhookQueue, due: list[Delivery] | None = None) -> Drained:
    """Apply the due deliveries to ``ws``'s ledger, oldest first. The caller holds the
    workspace lock. A busy warehouse leaves them all waiting; an engine error leaves the one
    delivery waiting; an unusable payload fails that one for good."""
    due = queue.due() if due is None else due
    done = Drained()
    if not due:
        return done
    try:
        _ = ws.warehouse  # NOTE: opens the warehouse: DuckDB refuses if another process writes it
    except Exception as e:  # the warehouse itself: every delivery waits
        done.busy, done.waiting = _describe(e), queue.wait(due, _describe(e))
        return done
    for delivery in due:
        try:
            apply(
                ws,
                delivery.topic,
                json.loads(delivery.body),
                delivery.webhook_id,
                at=_time_of(delivery),
            )
        except Exception as e:  # one bad delivery must not block the queue
            if can_never_apply(e):
                queue.fail(delivery.webhook_id, _describe(e))
                done.failed += 1
            else:
                done.waiting += queue.wait([delivery], _describe(e))
                if _is_busy(e):
                    done.busy = _describe(e)
            continue
        queue.applied(delivery.webhook_id)
        done.applied += 1
    return done


def apply_queued(ws: Context) -> str:
    """Apply every pending delivery, for a process that already holds the lock and owns the
    warehouse (the daily run's ingest stage); "" when there was nothing to do.

    Those waiting out a back-off are applied too: what they waited for (the lock, the
    warehouse) is the run's now, and a run never leaves a received delivery behind."""
    queue = WebhookQueue.existing(ws.state)
    if queue is None:
        return ""
    done = Drained()
    while due := queue.due(now=dt.datetime.max):
        turn = apply_due(ws, queue, due)
        done.applied, done.failed = done.applied + turn.applied, done.failed + turn.failed
        done.waiting += turn.waiting
        if turn.applied + turn.failed == 0:
            break  # everything left had to wait: next time
    return "" if not (done.applied or done.failed or done.waiting) else f"webhooks: {done}"


def apply_webhooks(ws: Context, progress: Progress | None = None) -> str:
    """The due deliveries, applied under the workspace lock: the web app's background job
    (:class:`segmentry.app.jobs.Periodic`). A lock held elsewhere (``serve-webhooks`` trying
    while the web app owns the warehouse) leaves them for the next tick, uncounted."""
    queue = WebhookQueue.existing(ws.state)
    if queue is None:
        return "no webhooks"
    try:
        with ws.lock("apply webhooks"):
            return str(apply_due(ws, queue))
    except LockHeldError as e:
        return f"later: {e.message}"


def has_due_webhooks(engine: sa.Engine) -> bool:
    """Whether deliveries wait to be applied now (cheap: the web app asks every few seconds)."""
    queue = WebhookQueue.existing(engine)
    return queue is not None and queue.has_due()


def _time_of(delivery: Delivery) -> dt.datetime:
    """When Shopify triggered the delivery (UTC, naive), else when it was received."""
    if delivery.triggered_at:
        try:
            stamp = dt.datetime.fromisoformat(delivery.triggered_at.strip().replace("Z", "+00:00"))
        except ValueError:
            return delivery.received_at
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp
    return delivery.received_at


class WebhookReceiver:
    """Webhooks for the workspace in ``folder``, verified with the app secret ``secret``;
    ``engine``: its state store when the caller has it open already (the web app)."""

    def __init__(self, folder: Path, secret: str, *, engine: sa.Engine | None = None) -> None:
        self.folder = Path(folder)
        self.secret = secret
        self._own_engine = engine is None
        if engine is None:
            engine = open_state_store(settings_in(self.folder).state.url)
        self.engine = engine
        self.queue = WebhookQueue(engine)
        self._busy: str | None = None

    def close(self) -> None:
        if self._own_engine:
            self.engine.dispose()

    def receive(self, headers: Mapping[str, str], raw: bytes) -> tuple[int, str]:
        """(HTTP status, short text) for one delivery; never touches the warehouse."""
        header = {k.lower(): v for k, v in headers.items()}
        if not verify(raw, header.get("x-shopify-hmac-sha256"), self.secret):
            return 401, "invalid signature"
        topic, webhook_id = header.get("x-shopify-topic"), header.get("x-shopify-webhook-id")
        if not topic or not webhook_id:
            return 400, "X-Shopify-Topic and X-Shopify-Webhook-Id are required"
        row = {
            "webhook_id": webhook_id[:100],
            "topic": topic[:100],
            "shop": header.get("x-shopify-shop-domain", "")[:255],
            "event_id": (header.get("x-shopify-event-id") or "")[:100] or None,
            "triggered_at": (header.get("x-shopify-triggered-at") or "")[:40] or None,
            "received_at": utcnow(),
            "status": "pending",
            "attempts": 0,
            "body": raw,
        }
        return (200, "queued") if self.queue.add(row) else (200, "duplicate")

    def pending(self) -> int:
        return self.queue.counts()["pending"]

    def drain(self) -> int:
        """Apply the due deliveries if the warehouse is free; returns how many were applied.

        Beside a running web app (which owns the warehouse) the warehouse is busy: the
        deliveries are left pending for it, with one log line (not one per try).
        """
        done = self.drain_once()
        return done.applied

    def drain_once(self) -> Drained:
        due = self.queue.due()
        if not due:
            return Drained()
        try:
            with open_context(self.folder) as ws, ws.lock("serve-webhooks"):
                done = apply_due(ws, self.queue, due)
                finish_erasures(ws)  # the only user of this warehouse: no copy is left behind
        except LockHeldError as e:
            done = Drained(waiting=self.queue.wait(due, _describe(e)), busy=_describe(e))
        self._note(done)
        return done

    def _note(self, done: Drained) -> None:
        """One log line when the warehouse turns busy, one when it is free again."""
        if done.busy and self._busy is None:
            log.warning(
                "warehouse busy, %d webhook(s) left pending for its owner (the web app "
                "or the next run): %s",
                done.waiting,
                done.busy,
            )
        elif not done.busy and self._busy is not None:
            log.warning("warehouse free again: %s", done)
        if done.failed:
            log.warning(
                "%d webhook(s) failed for good; see `segmentry shopify webhooks`", done.failed
            )
        self._busy = done.busy


def apply(
    ws: Context,
    topic: str,
    payload: dict[str, Any],
    webhook_id: str = "",
    *,
    at: dt.datetime | None = None,
) -> None:
    """Apply one webhook's payload to the workspace's ledger (``at``: when Shopify triggered
    it; a deletion is remembered at that time)."""
    if not isinstance(payload, dict):
        raise TypeError(f"the payload is a {type(payload).__name__}, not an object")
    handler = TOPICS.get(topic)
    if handler is not None:
        handler(ws, payload, webhook_id, at or utcnow())


def _write(ws: Context, batch: LedgerBatch) -> None:
    write_batch(ws.warehouse, batch, tz=ws.settings.shop.timezone)


def _order(ws: Context, payload: dict[str, Any], _id: str, _at: dt.datetime) -> None:
    rows = order_rows(payload)
    batch = orders_batch(pa.Table.from_pylist(rows, schema=RAW_ORDERS), ws.settings.shop.id)
    if batch.order_lines is not None:
        batch.order_lines = _with_products(ws, batch.order_lines)
    _write(ws, batch)


def _refund_created(ws: Context, payload: dict[str, Any], _id: str, _at: dt.datetime) -> None:
    """``refunds/create``: the refund, with its day (the order's ``orders/updated`` that
    Shopify also sends brings its new refunded total)."""
    raw = pa.Table.from_pylist(
        [{"id": _gid("Order", payload["order_id"]), "test": False, "refunds": [_refund(payload)]}],
        schema=RAW_ORDERS,
    )
    refunds = orders_batch(raw, ws.settings.shop.id).refunds
    if refunds is not None:
        _write(ws, LedgerBatch(refunds=refunds))


def _checkout(ws: Context, payload: dict[str, Any], _id: str, _at: dt.datetime) -> None:
    """``checkouts/create|update``: the checkout, as an abandoned checkout (the sync reads the
    same object from ``abandonedCheckouts``; REST's ``id`` is its id there)."""
    raw = pa.Table.from_pylist([checkout_row(payload)], schema=RAW_CHECKOUTS)
    _write(ws, checkouts_batch(raw, ws.settings.shop.id))


def checkout_row(checkout: dict[str, Any]) -> dict[str, Any]:
    """A REST checkout (webhook body) as a raw abandoned-checkout row.

    >>> checkout_row({"id": 7, "created_at": "2024-04-01T10:00:00+09:00",
    ...               "customer": {"id": 3}})["customer"]
    {'id': 'gid://shopify/Customer/3'}
    """
    customer = checkout.get("customer") or {}
    return {
        "id": _gid("AbandonedCheckout", checkout["id"]),
        "createdAt": checkout.get("created_at"),
        "updatedAt": checkout.get("updated_at") or checkout.get("created_at"),
        "completedAt": checkout.get("completed_at"),
        "customer": {"id": _gid("Customer", customer.get("id"))} if customer else None,
    }


def _customer(ws: Context, payload: dict[str, Any], _id: str, _at: dt.datetime) -> None:
    raw = pa.Table.from_pylist([customer_row(payload)], schema=RAW_CUSTOMERS)
    batch = customers_batch(raw, ws.settings.shop.id)
    if batch.customers is not None:
        batch.customers = _keep_stored(ws, batch.customers)
    _write(ws, batch)


# Customer columns a REST webhook body does not carry (the customer's language, subscription
# state, companies, coordinates, metafields): a webhook keeps what the last sync read.
_NOT_IN_WEBHOOKS = ("locale", "product_subscriber_status", "created_by_app_id", "company_ids",
                    "latitude", "longitude", "metafield_keys", "metafield_values")


def _keep_stored(ws: Context, customers: pa.Table) -> pa.Table:
    """``customers`` (one row) with the stored values of :data:`_NOT_IN_WEBHOOKS`."""
    con = ws.warehouse
    if "customers" not in con.list_tables():
        return customers
    table = con.table("customers")
    if not set(_NOT_IN_WEBHOOKS) <= set(table.columns):
        return customers
    row = customers.slice(0, 1).to_pylist()[0]
    mine = table.filter((table.shop_id == row["shop_id"])
                        & (table.customer_id == row["customer_id"]))
    stored = con.to_pyarrow(mine.select(*_NOT_IN_WEBHOOKS).limit(1))
    if not stored.num_rows:
        return customers
    for name in _NOT_IN_WEBHOOKS:
        index = customers.schema.get_field_index(name)
        column = stored[name].cast(customers.schema.field(name).type)
        customers = customers.set_column(index, name, column)
    return customers


def _delete_customer(
    ws: Context, payload: dict[str, Any], _id: str, at: dt.datetime
) -> None:
    # NOTE: remembered at ``at``: a late older customers/update must not undo it
    delete_customer(ws.warehouse, ws.settings.shop.id, str(payload["id"]), at)


def _redact_customer(
    ws: Context, payload: dict[str, Any], webhook_id: str, _at: dt.datetime
) -> None:
    customer = payload.get("customer") or {}
    customer_id = str(customer["id"])
    values = erase_customer(ws, customer_id, [customer.get("email"), customer.get("phone")])
    queue = WebhookQueue.existing(ws.state)
    if queue is not None:
        queue.forget_mentions(values, customer_id=customer_id, keep=webhook_id)


def _data_request(
    ws: Context, payload: dict[str, Any], webhook_id: str, _at: dt.datetime
) -> None:
    customer_id = str((payload.get("customer") or {})["id"])
    write_data_request(ws, customer_id, webhook_id or "manual", request=payload)


def _redact_shop(ws: Context, payload: dict[str, Any], _id: str, _at: dt.datetime) -> None:
    delete_shop(ws.warehouse, ws.settings.shop.id)  # the facts are rebuilt from the empty ledger
    erase_shop_files(ws)


def _uninstalled(ws: Context, payload: dict[str, Any], _id: str, _at: dt.datetime) -> None:
    set_app_status(ws.state, "uninstalled")


TOPICS: dict[str, Callable[[Context, dict[str, Any], str, dt.datetime], None]] = {
    "orders/create": _order,
    "orders/updated": _order,
    "orders/cancelled": _order,
    "refunds/create": _refund_created,
    "checkouts/create": _checkout,
    "checkouts/update": _checkout,
    "customers/create": _customer,
    "customers/update": _customer,
    "customers/delete": _delete_customer,
    "customers/redact": _redact_customer,
    "customers/data_request": _data_request,
    "shop/redact": _redact_shop,
    "app/uninstalled": _uninstalled,
}


# ---------------------------------------------------------------- REST → raw rows


def _line_discount(line: dict[str, Any]) -> Decimal:
    """What a REST line item was discounted by, in the shop's currency: the sum of its
    ``discount_allocations`` (Shopify says not to use ``total_discount``, which holds only
    discounts set through the API and reads 0.00 for codes and automatic discounts). A payload
    without allocations at all falls back to ``total_discount``.

    >>> _line_discount({"total_discount": "0.00", "discount_allocations": [
    ...     {"amount": "5.00", "amount_set": {"shop_money": {"amount": "5.00"}}},
    ...     {"amount": "1.50"}]})
    Decimal('6.50')
    >>> _line_discount({"total_discount": "2.00"})
    Decimal('2.00')
    """
    allocations = line.get("discount_allocations")
    if allocations is None:
        return Decimal(str(line.get("total_discount") or 0))
    total = Decimal(0)
    for allocation in allocations:
        shop = ((allocation.get("amount_set") or {}).get("shop_money") or {}).get("amount")
        total += Decimal(str(shop if shop is not None else allocation.get("amount") or 0))
    return total


def _bag(amount: Any) -> dict[str, Any]:
    return {"shopMoney": {"amount": None if amount is None else str(amount)}}


def _gid(kind: str, number: Any) -> str | None:
    return None if number is None else f"gid://shopify/{kind}/{number}"


def _tags(text: Any) -> list[str]:
    return [t.strip() for t in str(text or "").split(",") if t.strip()]


def order_rows(order: dict[str, Any]) -> list[dict[str, Any]]:
    """A REST order (webhook body) as raw rows: the order, then its line items."""
    order_id = order.get("admin_graphql_api_id") or _gid("Order", order["id"])
    refunded = sum((_refunded(r) for r in order.get("refunds") or []), Decimal(0))
    shipping = (order.get("total_shipping_price_set") or {}).get("shop_money") or {}
    customer = order.get("customer") or {}
    rows = [
        {
            "id": order_id,
            "name": order.get("name"),
            "createdAt": order.get("created_at"),
            "processedAt": order.get("processed_at"),
            "updatedAt": order.get("updated_at"),
            "cancelledAt": order.get("cancelled_at"),
            "currencyCode": order.get("currency"),
            "test": bool(order.get("test")),
            "tags": _tags(order.get("tags")),
            "sourceName": order.get("source_name"),
            "discountCodes": [d["code"] for d in order.get("discount_codes") or []],
            "subtotalPriceSet": _bag(order.get("subtotal_price")),
            "totalDiscountsSet": _bag(order.get("total_discounts")),
            "totalShippingPriceSet": _bag(shipping.get("amount", 0)),
            "totalTaxSet": _bag(order.get("total_tax")),
            "totalPriceSet": _bag(order.get("total_price")),
            "totalRefundedSet": _bag(refunded),
            "customer": {
                "id": customer.get("admin_graphql_api_id") or _gid("Customer", customer.get("id"))
            },
            "customerJourneySummary": {
                "firstVisit": {
                    "landingPage": order.get("landing_site"),
                    "referrerUrl": order.get("referring_site"),
                }
            },
            "retailLocation": {"id": _gid("Location", order.get("location_id"))},
            "app": {"id": _gid("App", order.get("app_id"))},
            "refunds": [_refund(r) for r in order.get("refunds") or []],
        }
    ]
    for line in order.get("line_items") or []:
        price, quantity = Decimal(str(line.get("price") or 0)), int(line.get("quantity") or 0)
        rows.append(
            {
                "id": line.get("admin_graphql_api_id") or _gid("LineItem", line["id"]),
                "__parentId": order_id,
                "sku": line.get("sku"),
                "title": line.get("title"),
                "quantity": quantity,
                "originalUnitPriceSet": _bag(price),
                "discountedTotalSet": _bag(price * quantity - _line_discount(line)),
                "product": {
                    "id": _gid("Product", line.get("product_id")),
                    "vendor": line.get("vendor"),
                },
                "variant": {
                    "id": _gid("ProductVariant", line.get("variant_id")),
                    "sku": line.get("sku"),
                },
            }
        )
    return rows


def _refunded(refund: dict[str, Any]) -> Decimal:
    """What a REST refund gave back: its successful refund transactions."""
    return sum(
        (
            Decimal(str(t.get("amount") or 0))
            for t in refund.get("transactions") or []
            if t.get("kind") == "refund" and t.get("status") == "success"
        ),
        Decimal(0),
    )


def _refund(refund: dict[str, Any]) -> dict[str, Any]:
    """A REST refund as a raw refund (id, when, how much)."""
    return {
        "id": refund.get("admin_graphql_api_id") or _gid("Refund", refund.get("id")),
        "createdAt": refund.get("created_at"),
        "totalRefundedSet": _bag(_refunded(refund)),
    }


def customer_row(customer: dict[str, Any]) -> dict[str, Any]:
    """A REST customer (webhook body) as a raw row."""
    address = customer.get("default_address") or {}
    email = customer.get("email_marketing_consent") or {}
    sms = customer.get("sms_marketing_consent") or {}
    return {
        "id": customer.get("admin_graphql_api_id") or _gid("Customer", customer["id"]),
        "firstName": customer.get("first_name"),
        "lastName": customer.get("last_name"),
        "tags": _tags(customer.get("tags")),
        "createdAt": customer.get("created_at"),
        "updatedAt": customer.get("updated_at"),
        "defaultEmailAddress": {
            "emailAddress": customer.get("email"),
            "marketingState": str(email.get("state") or "").upper() or None,
        },
        "defaultPhoneNumber": {
            "phoneNumber": customer.get("phone"),
            "marketingState": str(sms.get("state") or "").upper() or None,
        },
        "defaultAddress": {
            "city": address.get("city"),
            "provinceCode": address.get("province_code"),
            "countryCodeV2": address.get("country_code"),
        },
        "state": str(customer.get("state") or "").upper() or None,
    }


def _with_products(ws: Context, lines: pa.Table) -> pa.Table:
    """Fill product type, vendor and tags (absent from REST line items) from the ledger."""
    con = ws.warehouse
    ids = [i for i in set(lines.column("product_id").to_pylist()) if i]
    if not ids or "products" not in con.list_tables():
        return lines
    products = con.table("products")
    known = {
        p["product_id"]: p
        for p in con.to_pyarrow(products.filter(products.product_id.isin(ids))).to_pylist()
    }
    rows = lines.to_pylist()
    for row in rows:
        product = known.get(row["product_id"]) or {}
        row["product_type"] = row["product_type"] or product.get("product_type")
        row["vendor"] = row["vendor"] or product.get("vendor")
        row["product_tags"] = row["product_tags"] or product.get("tags") or []
    return pa.Table.from_pylist(rows, schema=lines.schema)
