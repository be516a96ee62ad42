"""A tiny shop for the LINE identity tests, on each engine (the ``warehouse_url`` fixture).

Customers, created 2026-10-01 (shop zone Asia/Tokyo), none with orders:

    k1  hanako@example.jp
    k2  ken@example.jp
    k3  ichiro@example.jp   customers.line_user_id = U_3 (an import's column)
    k4  (no e-mail)

LINE user ids are the fake LINE's ``user_id(n)`` ("U" + 32 hex digits).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from segmentry.app.workspace import Workspace
from segmentry.ledger.store import arrow_schema
from segmentry.testing.line.platform import user_id

CREATED = dt.datetime(2026, 10, 1, 3, 0)  # 12:00 in Tokyo
DAY = dt.date(2026, 11, 30)
CUSTOMERS = [("k1", "hanako@example.jp", None), ("k2", "ken@example.jp", None),
             ("k3", "ichiro@example.jp", user_id(3)), ("k4", None, None)]


def customers_table() -> pa.Table:
    schema = arrow_schema("customers", local_dates=False)
    rows = [{"shop_id": "shop", "customer_id": cid, "email": email, "line_user_id": line,
             "created_at": CREATED, "updated_at": CREATED}
            for cid, email, line in CUSTOMERS]
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


@pytest.fixture
def shop(tmp_path: Path, warehouse_url: str) -> Iterator[Workspace]:
    """The tiny shop on each engine, computed through :data:`DAY`."""
    ws = Workspace.create(tmp_path / "shop", warehouse_url=warehouse_url)
    ws.import_tables({"customers": customers_table()})
    ws.run(DAY)
    try:
        yield ws
    finally:
        ws.close()


def line_events(ws: Workspace) -> list[dict[str, object]]:
    """The stored LINE events, oldest first."""
    t = ws.warehouse.table("line_events")
    rows = t.order_by(["occurred_at", "event_id"]).select(
        "event", "line_user_id", "customer_id", "source")
    return ws.warehouse.to_pyarrow(rows).to_pylist()
