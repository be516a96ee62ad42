"""An older update never overwrites a newer one; a deleted customer stays deleted (issue 9,
item 2): through webhooks delivered out of order, and in the ledger writer itself."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.webhook_server import WebhookServer
from segmentry.ledger.store import LedgerBatch, write_batch
from segmentry.testing.shopify import FakeShopify


@pytest.fixture
def server(synced: Workspace, fake: FakeShopify) -> Iterator[WebhookServer]:
    with WebhookServer(Path(synced.folder), fake.webhook_secret, interval=3600) as s:
        synced.close()
        yield s


def _ledger_row(ws: Workspace, table: str, column: str, value: str) -> list[dict]:
    t = ws.warehouse.table(table)
    rows = t.filter(t[column] == value).to_pyarrow().to_pylist()
    ws.close()
    return rows


def test_a_late_older_order_update_does_not_undo_the_cancellation(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    order_id = sorted(fake.data.objects["orders"])[2]
    before = fake.rest_order(order_id)  # as it was: not cancelled, its older updated_at
    order = fake.data.objects["orders"][order_id]
    order["cancelledAt"] = order["updatedAt"] = fake.data.now()
    cancelled = fake.rest_order(order_id)
    older = copy.deepcopy(before)
    older["tags"] = "late"
    assert older["updated_at"] < cancelled["updated_at"] and older["cancelled_at"] is None

    fake.send_webhook(server.url, "orders/cancelled", cancelled, webhook_id="cancel")
    assert server.drain() == 1
    fake.send_webhook(server.url, "orders/updated", older, webhook_id="late-update")
    assert server.drain() == 1  # applied: the ledger keeps the newer row

    row = _ledger_row(synced, "orders", "order_id", order_id.rsplit("/", 1)[-1])[0]
    stamp = dt.datetime.fromisoformat(cancelled["updated_at"].rstrip("Z"))
    assert row["cancelled_at"] is not None
    assert row["updated_at"] == stamp and row["tags"] != ["late"]


def test_a_late_older_customer_update_does_not_bring_a_deleted_customer_back(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    customer = sorted(fake.data.objects["customers"])[3]
    number = customer.rsplit("/", 1)[-1]
    update = fake.rest_customer(customer)  # updated before the deletion
    assert _ledger_row(synced, "customers", "customer_id", number)
    fake.send_webhook(server.url, "customers/delete", {"id": int(number)}, webhook_id="del")
    assert server.drain() == 1
    fake.send_webhook(server.url, "customers/update", update, webhook_id="late")
    assert server.drain() == 1
    assert _ledger_row(synced, "customers", "customer_id", number) == []


# ---------------------------------------------------------------- the ledger writer's rule

T = dt.datetime(2026, 11, 1, 9, 0)


def _orders(*rows: tuple[str, dt.datetime | None, str]) -> pa.Table:
    """(order id, updated_at, tag) rows of order 'o1' etc. of customer 'c1'."""
    return pa.table(
        {
            "shop_id": ["s"] * len(rows),
            "order_id": [r[0] for r in rows],
            "customer_id": ["c1"] * len(rows),
            "processed_at": pa.array([T] * len(rows), pa.timestamp("us")),
            "updated_at": pa.array([r[1] for r in rows], pa.timestamp("us")),
            "tags": [[r[2]] for r in rows],
        }
    )


def _tags(con: BaseBackend, order_id: str) -> list[str]:
    t = con.table("orders")
    return list(t.filter(t.order_id == order_id).to_pyarrow().column("tags").to_pylist()[0])


@pytest.mark.parametrize(
    ("stored", "incoming", "kept"),
    [
        (T, T - dt.timedelta(seconds=1), "stored"),  # older: ignored
        (T, T, "incoming"),  # equal: replaces
        (T, T + dt.timedelta(hours=1), "incoming"),  # newer: replaces
        (T, None, "incoming"),  # no updated_at: nothing says it is older
        (None, T - dt.timedelta(days=1), "incoming"),  # stored without: replaced
    ],
)
def test_the_newest_update_wins(
    warehouse: BaseBackend, stored: dt.datetime | None, incoming: dt.datetime | None, kept: str
) -> None:
    con = warehouse  # both engines
    write_batch(
        con, LedgerBatch(orders=_orders(("o1", stored, "stored"), ("o2", T, "x"))), tz="Asia/Tokyo"
    )
    lines = pa.table({"shop_id": ["s"], "order_id": ["o1"], "line_id": ["l-new"], "quantity": [1]})
    write_batch(
        con,
        LedgerBatch(orders=_orders(("o1", incoming, "incoming")), order_lines=lines),
        tz="Asia/Tokyo",
    )
    assert _tags(con, "o1") == [kept]
    line_ids = con.table("order_lines").to_pyarrow().column("line_id").to_pylist()
    assert line_ids == (["l-new"] if kept == "incoming" else [])  # lines go with their order


def test_an_old_ledger_gets_orders_updated_at_on_open(tmp_path: Path) -> None:
    """A ledger made before orders had updated_at: the column is added, old rows NULL."""
    ws = Workspace.create(tmp_path / "ws")
    path = str(tmp_path / "ws" / "warehouse.duckdb")
    ws.close()
    raw = duckdb.connect(path)
    raw.execute("ALTER TABLE orders DROP COLUMN updated_at")
    raw.execute(
        "INSERT INTO orders (shop_id, order_id, customer_id, tags) "
        "VALUES ('shop', 'old', 'c1', ['kept'])"
    )
    raw.close()
    ws = Workspace.open(tmp_path / "ws")
    try:
        write_batch(ws.warehouse, LedgerBatch(orders=_orders(("o1", T, "new"))), tz="Asia/Tokyo")
        orders = ws.warehouse.table("orders").to_pyarrow()
    finally:
        ws.close()
    assert orders.column_names[-1] == "updated_at"
    got = sorted(
        zip(
            orders.column("order_id").to_pylist(),
            orders.column("updated_at").to_pylist(),
            strict=True,
        )
    )
    assert got == [("o1", T), ("old", None)]


def test_a_deleted_customer_stays_deleted_unless_updated_after(warehouse: BaseBackend) -> None:
    from segmentry.ledger.store import remember_deletion

    def customers(*rows: tuple[str, dt.datetime | None]) -> pa.Table:
        return pa.table(
            {
                "shop_id": ["s"] * len(rows),
                "customer_id": [r[0] for r in rows],
                "updated_at": pa.array([r[1] for r in rows], pa.timestamp("us")),
            }
        )

    remember_deletion(warehouse, "s", "gone", T)
    remember_deletion(warehouse, "s", "back", T)
    remember_deletion(warehouse, "s", "undated", T)
    batch = customers(
        ("gone", T),
        ("back", T + dt.timedelta(seconds=1)),
        ("undated", None),
        ("other", T - dt.timedelta(days=1)),
    )
    write_batch(warehouse, LedgerBatch(customers=batch), tz="Asia/Tokyo")
    ids = warehouse.table("customers").to_pyarrow().column("customer_id").to_pylist()
    assert sorted(ids) == ["back", "other"]
