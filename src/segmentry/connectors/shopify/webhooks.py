"""Receiving Shopify webhooks: verify, deduplicate, acknowledge fast, apply to the ledger.

:meth:`WebhookReceiver.receive` checks ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the
**raw** body with the app's client secret, compared in constant time; shopify.dev "Verify
webhook deliveries"): a bad signature is answered 401 and nothing is stored. A good delivery is
queued in the state store under its ``X-Shopify-Webhook-Id`` (a repeat is answered 200 and
ignored) and answered at once; :meth:`WebhookReceiver.drain` applies the queue to the ledger
under the workspace lock, then forgets the bodies (they may hold personal data).

Topics: ``orders/create|updated|cancelled``, ``customers/create|update`` (upserts),
``customers/delete`` (the customer's rows go), ``customers/redact`` (email, phone, names and
address set to NULL), ``customers/data_request`` (a JSON export of what we hold, written to
``privacy/`` in the workspace), ``shop/redact`` (every ledger row of the shop goes) and
``app/uninstalled`` (syncs stop until reconnected).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
import sqlglot as sg
import sqlglot.expressions as sge

from segmentry import state
from segmentry.connectors.shopify import tables
from segmentry.connectors.shopify.mapping import (
    RAW_CUSTOMERS,
    RAW_ORDERS,
    customers_batch,
    orders_batch,
)
from segmentry.connectors.shopify.sync import set_app_state
from segmentry.engine import execute, transaction
from segmentry.ledger.schema import TABLES
from segmentry.ledger.store import LedgerBatch, queue_everyone, write_batch
from segmentry.workspace import Workspace

__all__ = ["TOPICS", "WebhookReceiver", "verify"]

_PII = ("email", "phone", "first_name", "last_name", "city", "region", "country", "line_user_id")


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


class WebhookReceiver:
    """Webhooks for the workspace in ``folder``, verified with the app secret ``secret``."""

    def __init__(self, folder: Path, secret: str) -> None:
        self.folder = Path(folder)
        self.secret = secret
        self.engine = state.connect_state(Workspace.open(self.folder).settings.state.url)
        tables.ensure_tables(self.engine)

    def close(self) -> None:
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
            "webhook_id": webhook_id,
            "topic": topic,
            "shop": header.get("x-shopify-shop-domain", ""),
            "event_id": header.get("x-shopify-event-id"),
            "triggered_at": header.get("x-shopify-triggered-at"),
            "received_at": state.utcnow(),
            "status": "pending",
            "body": raw,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(tables.webhooks).values(**row))
        except sa.exc.IntegrityError:
            return 200, "duplicate"
        return 200, "queued"

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(tables.webhooks.c.status == "pending")
                ).scalar()
                or 0
            )

    def drain(self) -> int:
        """Apply every queued webhook, oldest first; returns how many were applied."""
        table = tables.webhooks
        with self.engine.connect() as conn:
            queued = conn.execute(
                sa.select(table.c.webhook_id, table.c.topic, table.c.body)
                .where(table.c.status == "pending")
                .order_by(table.c.received_at)
            ).all()
        if not queued:
            return 0
        with Workspace.open(self.folder) as ws, ws.lock("serve-webhooks"):
            for webhook_id, topic, body in queued:
                status, error = "applied", None
                try:
                    apply(ws, topic, json.loads(body), webhook_id)
                except Exception as e:  # one bad delivery must not block the queue
                    status, error = "failed", f"{type(e).__name__}: {e}"
                with self.engine.begin() as conn:
                    conn.execute(
                        sa.update(table)
                        .where(table.c.webhook_id == webhook_id)
                        .values(status=status, error=error, body=None)
                    )
        return len(queued)


def apply(ws: Workspace, topic: str, payload: dict[str, Any], webhook_id: str = "") -> None:
    """Apply one webhook's payload to the workspace's ledger."""
    handler = TOPICS.get(topic)
    if handler is not None:
        handler(ws, payload, webhook_id)


def _write(ws: Workspace, batch: LedgerBatch) -> None:
    write_batch(ws.warehouse, batch, tz=ws.settings.shop.timezone)


def _order(ws: Workspace, payload: dict[str, Any], _id: str) -> None:
    rows = order_rows(payload)
    batch = orders_batch(pa.Table.from_pylist(rows, schema=RAW_ORDERS), ws.settings.shop.id)
    if batch.order_lines is not None:
        batch.order_lines = _with_products(ws, batch.order_lines)
    _write(ws, batch)


def _customer(ws: Workspace, payload: dict[str, Any], _id: str) -> None:
    raw = pa.Table.from_pylist([customer_row(payload)], schema=RAW_CUSTOMERS)
    _write(ws, customers_batch(raw, ws.settings.shop.id))


def _where(ws: Workspace, customer_id: str | None = None) -> sge.Expression:
    condition: sge.Expression = sg.column("shop_id", quoted=True).eq(
        sge.convert(ws.settings.shop.id)
    )
    if customer_id is not None:
        condition = condition.and_(
            sg.column("customer_id", quoted=True).eq(sge.convert(customer_id))
        )
    return condition


def _delete_customer(ws: Workspace, payload: dict[str, Any], _id: str) -> None:
    customer_id = str(payload["id"])
    with transaction(ws.warehouse):
        for name in ("customers", "customer_tag_history"):
            execute(
                ws.warehouse, sge.delete(sg.table(name, quoted=True), where=_where(ws, customer_id))
            )


def _redact_customer(ws: Workspace, payload: dict[str, Any], _id: str) -> None:
    customer_id = str((payload.get("customer") or {})["id"])
    values = {sg.column(c, quoted=True): sge.Null() for c in _PII}
    statement = sge.update(
        sg.table("customers", quoted=True), values, where=_where(ws, customer_id)
    )
    execute(ws.warehouse, statement)


def _data_request(ws: Workspace, payload: dict[str, Any], webhook_id: str) -> None:
    customer_id = str((payload.get("customer") or {})["id"])
    con = ws.warehouse
    export: dict[str, Any] = {"request": payload}
    for name in ("customers", "orders"):
        table = con.table(name)
        rows = table.filter(
            (table.shop_id == ws.settings.shop.id) & (table.customer_id == customer_id)
        )
        export[name] = con.to_pyarrow(rows).to_pylist()
    folder = Path(ws.folder) / "privacy"
    folder.mkdir(exist_ok=True)
    path = folder / f"data_request_{customer_id}_{webhook_id or 'manual'}.json"
    path.write_text(json.dumps(export, default=str, ensure_ascii=False, indent=1), "utf-8")


def _redact_shop(ws: Workspace, payload: dict[str, Any], _id: str) -> None:
    with transaction(ws.warehouse):
        for name in TABLES:
            execute(ws.warehouse, sge.delete(sg.table(name, quoted=True), where=_where(ws)))
        queue_everyone(ws.warehouse)  # the order facts are rebuilt from the emptied ledger


def _uninstalled(ws: Workspace, payload: dict[str, Any], _id: str) -> None:
    set_app_state(ws.state, "uninstalled")


TOPICS: dict[str, Callable[[Workspace, dict[str, Any], str], None]] = {
    "orders/create": _order,
    "orders/updated": _order,
    "orders/cancelled": _order,
    "customers/create": _customer,
    "customers/update": _customer,
    "customers/delete": _delete_customer,
    "customers/redact": _redact_customer,
    "customers/data_request": _data_request,
    "shop/redact": _redact_shop,
    "app/uninstalled": _uninstalled,
}


# ---------------------------------------------------------------- REST → raw rows


def _bag(amount: Any) -> dict[str, Any]:
    return {"shopMoney": {"amount": None if amount is None else str(amount)}}


def _gid(kind: str, number: Any) -> str | None:
    return None if number is None else f"gid://shopify/{kind}/{number}"


def _tags(text: Any) -> list[str]:
    return [t.strip() for t in str(text or "").split(",") if t.strip()]


def order_rows(order: dict[str, Any]) -> list[dict[str, Any]]:
    """A REST order (webhook body) as raw rows: the order, then its line items."""
    order_id = order.get("admin_graphql_api_id") or _gid("Order", order["id"])
    refunded = sum(
        (
            Decimal(str(t.get("amount") or 0))
            for r in order.get("refunds") or []
            for t in r.get("transactions") or []
            if t.get("kind") == "refund" and t.get("status") == "success"
        ),
        Decimal(0),
    )
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
                "discountedTotalSet": _bag(
                    price * quantity - Decimal(str(line.get("total_discount") or 0))
                ),
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
    }


def _with_products(ws: Workspace, lines: pa.Table) -> pa.Table:
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
