"""A tiny shop for the messaging tests, and a real SMTP server (aiosmtpd) on loopback.

Customers (all ordered once, on 2026-11-20, shop zone Asia/Tokyo):

    m1  山田 花子  hanako@example.jp   SUBSCRIBED       LINE 1   order #1001 美容液 ¥5,000
    m2  佐藤 健    ken@example.jp      NOT_SUBSCRIBED   LINE 2
    m3  (no name)  (no e-mail)         —                —
    m4  Alice Wu   alice@example.com   SUBSCRIBED       —        order #1004 2 items
    m5  鈴木 一郎  ichiro@example.jp   UNSUBSCRIBED     LINE 5 (blocked the account)

LINE user ids are the fake LINE's ``user_id(n)``.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from aiosmtpd.controller import Controller

from segmentry.app.workspace import Workspace
from segmentry.ledger.store import arrow_schema
from segmentry.testing.line.platform import user_id

DAY = dt.date(2026, 11, 30)
ORDERED = dt.datetime(2026, 11, 20, 3, 0)  # 12:00 in Tokyo

CUSTOMERS = [
    ("m1", "山田", "花子", "hanako@example.jp", "SUBSCRIBED", user_id(1)),
    ("m2", "佐藤", "健", "ken@example.jp", "NOT_SUBSCRIBED", user_id(2)),
    ("m3", None, None, None, None, None),
    ("m4", "Wu", "Alice", "alice@example.com", "SUBSCRIBED", None),
    ("m5", "鈴木", "一郎", "ichiro@example.jp", "UNSUBSCRIBED", user_id(5)),
]
# (order id, customer, name, total, [(line id, product id, title, quantity, unit price)])
ORDERS = [
    ("o1", "m1", "#1001", 5000, [("l1", "p1", "美容液", 1, 5000)]),
    ("o2", "m2", "#1002", 2500, [("l2", "p2", "洗顔フォーム", 1, 2500)]),
    ("o3", "m3", "#1003", 2000, [("l3", "p3", "シャンプー", 1, 2000)]),
    ("o4", "m4", "#1004", 7500, [("l4", "p1", "美容液", 1, 5000),
                                 ("l5", "p2", "洗顔フォーム", 1, 2500)]),
    ("o5", "m5", "#1005", 5000, [("l6", "p1", "美容液", 1, 5000)]),
]


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def shop_tables() -> dict[str, pa.Table]:
    customers = [
        {"shop_id": "shop", "customer_id": cid, "last_name": last, "first_name": first,
         "email": email, "email_marketing_state": state, "line_user_id": line,
         "created_at": ORDERED - dt.timedelta(days=30), "updated_at": ORDERED}
        for cid, last, first, email, state, line in CUSTOMERS
    ]
    orders = [
        {"shop_id": "shop", "order_id": oid, "customer_id": cid, "name": name,
         "processed_at": ORDERED, "currency": "JPY", "subtotal": Decimal(total),
         "discounts": Decimal(0), "shipping": Decimal(0), "tax": Decimal(0),
         "total": Decimal(total), "refunded": Decimal(0), "source_name": "web",
         "channel": "direct"}
        for oid, cid, name, total, _ in ORDERS
    ]
    lines = [
        {"shop_id": "shop", "order_id": oid, "line_id": lid, "product_id": pid, "title": title,
         "quantity": qty, "unit_price": Decimal(price), "total": Decimal(price * qty)}
        for oid, _, _, _, order_lines in ORDERS
        for lid, pid, title, qty, price in order_lines
    ]
    return {"customers": _table("customers", customers), "orders": _table("orders", orders),
            "order_lines": _table("order_lines", lines)}


@pytest.fixture
def shop(tmp_path: Path, warehouse_url: str) -> Iterator[Workspace]:
    """The tiny shop (warehouse on each engine), computed through :data:`DAY`, with a segment
    ``everyone``."""
    ws = Workspace.create(tmp_path / "shop", warehouse_url=warehouse_url)
    ws.import_tables(shop_tables())
    ws.run(DAY)
    ws.add_segment("everyone", "number_of_orders >= 1")
    try:
        yield ws
    finally:
        ws.close()


class Mailbox:
    """What the SMTP server received: one parsed message per recipient delivery."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for _ in envelope.rcpt_tos:
            self.messages.append(message_from_bytes(envelope.original_content,
                                                     policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback (no TLS, no login): its mailbox and port."""
    mailbox = Mailbox()
    with socket.socket() as probe:  # NOTE: aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
