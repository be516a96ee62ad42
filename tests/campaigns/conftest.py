"""A small shop whose customers join a segment over simulated days, the fake LINE platform and
a real SMTP server, and a daily run whose ``campaigns`` stage uses the test's clock.

Customers (shop zone Asia/Tokyo; every e-mail SUBSCRIBED):

    c1–c4  ordered on 2026-11-20: members of ``buyers`` from the start
    c5–c8  no order yet: they join ``buyers`` on the day of their first order
    LINE:  c1, c2, c3, c5, c6 linked (fake LINE ``user_id(n)``); c4, c7, c8 e-mail only
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from messaging.conftest import Mailbox
from messaging.conftest import smtp as smtp  # the fixture, shared
from segmentry.activation.email.channel import EmailChannel
from segmentry.activation.line import Backoff, LineChannel, LineClient
from segmentry.activation.line.sender import LineSender
from segmentry.app.campaigns import plugin
from segmentry.app.campaigns.campaigns import Campaigns
from segmentry.app.messaging.sending import Channel
from segmentry.app.workspace import Workspace
from segmentry.core.config import EmailSettings
from segmentry.ledger.store import arrow_schema
from segmentry.testing.line import FakeLine
from segmentry.testing.line.platform import user_id

DAY = dt.date(2026, 11, 30)
FIRST_ORDERS = dt.datetime(2026, 11, 20, 3, 0)  # 12:00 in Tokyo
LINKED = (1, 2, 3, 5, 6)
KEY = b"k" * 32

__all__ = ["DAY", "Clock", "Mailbox", "email_channel", "order", "run_day"]


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def _order_tables(order_id: str, customer: str, at: dt.datetime) -> dict[str, pa.Table]:
    orders = [{"shop_id": "shop", "order_id": order_id, "customer_id": customer,
               "name": f"#{order_id}", "processed_at": at, "currency": "JPY",
               "subtotal": Decimal(3000), "discounts": Decimal(0), "shipping": Decimal(0),
               "tax": Decimal(0), "total": Decimal(3000), "refunded": Decimal(0),
               "source_name": "web", "channel": "direct"}]
    lines = [{"shop_id": "shop", "order_id": order_id, "line_id": f"l-{order_id}",
              "product_id": "p1", "title": "美容液", "quantity": 1, "unit_price": Decimal(3000),
              "total": Decimal(3000)}]
    return {"orders": _table("orders", orders), "order_lines": _table("order_lines", lines)}


def shop_tables() -> dict[str, pa.Table]:
    customers = [
        {"shop_id": "shop", "customer_id": f"c{n}", "last_name": "山田", "first_name": f"{n}号",
         "email": f"c{n}@example.jp", "email_marketing_state": "SUBSCRIBED",
         "line_user_id": user_id(n) if n in LINKED else None,
         "created_at": FIRST_ORDERS - dt.timedelta(days=30), "updated_at": FIRST_ORDERS}
        for n in range(1, 9)
    ]
    tables = {"customers": _table("customers", customers)}
    parts = [_order_tables(f"o{n}", f"c{n}", FIRST_ORDERS) for n in range(1, 5)]
    for name in ("orders", "order_lines"):
        tables[name] = pa.concat_tables([p[name] for p in parts])
    return tables


def order(ws: Workspace, order_id: str, customer: str, day: dt.date) -> None:
    """``customer`` orders at 12:00 Tokyo on ``day``."""
    ws.import_tables(_order_tables(order_id, customer,
                                   dt.datetime.combine(day, dt.time(3, 0))))


class Clock:
    """The time the campaigns see (UTC, no zone)."""

    def __init__(self) -> None:
        self.now = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(1, 0))

    def __call__(self) -> dt.datetime:
        return self.now


def run_day(ws: Workspace, clock: Clock, day: dt.date) -> Any:
    """The daily run for ``day``, at 10:00 Tokyo the next morning."""
    clock.now = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1, 0))
    return ws.run(day)


def line_sender(line: FakeLine) -> LineSender:
    channel = LineChannel(line.token, line.channel_secret, name="Shop LINE", host=line.url)
    return LineSender(LineClient(channel, backoff=Backoff(sleep=lambda s: None, jitter=False)))


def email_channel(port: int) -> EmailChannel:
    settings = EmailSettings(host="127.0.0.1", port=port, security="none",
                             from_address="news@shop.example", from_name="ショップ",
                             web_url="https://crm.shop.example")
    return EmailChannel(settings, None, KEY, lambda: frozenset())


@pytest.fixture
def shop(tmp_path: Path, warehouse_url: str) -> Iterator[Workspace]:
    """The shop on each engine, computed through :data:`DAY`, with the segment ``buyers``."""
    ws = Workspace.create(tmp_path / "shop", warehouse_url=warehouse_url)
    ws.import_tables(shop_tables())
    ws.run(DAY)
    ws.add_segment("buyers", "number_of_orders >= 1")
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def line() -> Iterator[FakeLine]:
    fake = FakeLine(timeout_seconds=0.3, monthly_quota=1000).start()
    for n in LINKED:
        fake.add_user(user_id(n))
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def channels(line: FakeLine) -> dict[str, Channel]:
    return {"line": line_sender(line)}


@pytest.fixture
def campaigns(shop: Workspace, clock: Clock, channels: dict[str, Channel],
              monkeypatch: pytest.MonkeyPatch) -> Campaigns:
    """The campaign service on the test's clock and channels — the daily run's stage too."""
    monkeypatch.setattr(plugin, "Campaigns",
                        functools.partial(Campaigns, now=clock, channels=channels))
    return Campaigns(shop, now=clock, channels=channels)
