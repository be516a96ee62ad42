"""Erasure that erases (issue 9, item 4): after Shopify's ``customers/redact``, a byte search of
the whole workspace folder for the customer's e-mail, phone, names and city finds nothing —
with ``serve-webhooks`` applying it, and with the web app applying it while pages are served.

Each test first shows that the same search finds the values before the erasure, so a search
that cannot see (compressed blocks, say) would fail the test rather than pass it."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from segmentry.app.erasure import erase_customer, finish_erasures, waiting_erasures
from segmentry.app.workspace import Workspace
from segmentry.cli.data import write_rejects
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify.webhook_server import WebhookServer
from segmentry.core.errors import BadRow
from segmentry.core.secrets import save_secret
from segmentry.engine import duckdb_file
from segmentry.testing.http import serving
from segmentry.testing.shopify import FakeShopify
from segmentry.web import create_app
from segmentry.web.accounts import add_user, create_token

EMAIL = "tsukiko.hanabusa.erase-me@example.jp"
PHONE = "+819087654321"
FIRST, LAST, CITY = "月子", "英房", "葉山町"
PERSONAL = (EMAIL, PHONE, FIRST, LAST, CITY)


def _found(folder: Path) -> dict[str, list[str]]:
    """Which of the personal values each file under ``folder`` holds, byte for byte (UTF-8)."""
    found: dict[str, list[str]] = {}
    for root, _, files in os.walk(folder):
        for name in files:
            data = (Path(root) / name).read_bytes()
            hits = [v for v in PERSONAL if v.encode() in data]
            if hits:
                found[str((Path(root) / name).relative_to(folder))] = hits
    return found


def _customer_with_personal_data(ws: Workspace, fake: FakeShopify) -> tuple[str, int]:
    """Give a customer of the fake store our values; the customer's id and REST number."""
    customer_id = sorted(fake.data.objects["customers"])[2]
    customer = fake.data.objects["customers"][customer_id]
    customer.update(email=EMAIL, phone=PHONE, firstName=FIRST, lastName=LAST,
                    updatedAt=fake.data.now())
    customer["defaultAddress"] = {**(customer.get("defaultAddress") or {}), "city": CITY}
    number = int(customer_id.rsplit("/", 1)[-1])
    return customer_id, number


def _rejects_naming_the_customer(folder: Path) -> None:
    """A rejected-rows file as `segmentry import --skip-bad-rows` writes it, whose rows name the
    customer (an e-mail Shopify's export had in a bad cell) beside another customer's row."""
    write_rejects(
        [BadRow("customers_export.csv", 7, "Email", "not an e-mail address", f"{EMAIL},"),
         BadRow("customers_export.csv", 9, "Total Spent", "not an amount", "12,34x")],
        folder / "rejects-20261205-100000.csv",
    )


def _redact(fake: FakeShopify, url: str, number: int) -> httpx.Response:
    payload = {"shop_id": 1, "shop_domain": fake.shop, "orders_to_redact": [],
               "customer": {"id": number, "email": EMAIL, "phone": PHONE}}
    return fake.send_webhook(url, "customers/redact", payload, webhook_id="redact-1")


def _ledger_row(folder: Path, number: int) -> dict:
    with Workspace.open(folder) as ws:
        table = ws.warehouse.table("customers")
        rows = table.filter(table.customer_id == str(number)).to_pyarrow().to_pylist()
        orders = ws.warehouse.table("orders")
        count = orders.filter(orders.customer_id == str(number)).count().execute()
    assert len(rows) == 1
    return {**rows[0], "orders": int(count)}


@pytest.fixture
def receiver(synced: Workspace, fake: FakeShopify) -> Iterator[WebhookServer]:
    with WebhookServer(Path(synced.folder), fake.webhook_secret, interval=3600) as server:
        synced.close()  # the receiver opens the workspace when it applies
        yield server


def test_after_a_redact_applied_by_serve_webhooks_no_byte_of_the_customer_is_left(
    synced: Workspace, fake: FakeShopify, receiver: WebhookServer
) -> None:
    folder = Path(synced.folder)
    customer_id, number = _customer_with_personal_data(synced, fake)
    orders_before = _ledger_row(folder, number)["orders"]
    assert fake.send_webhook(receiver.url, "customers/update",
                             fake.rest_customer(customer_id)).status_code == 200
    request = {"customer": {"id": number, "email": EMAIL}, "data_request": {"id": 4}}
    fake.send_webhook(receiver.url, "customers/data_request", request, webhook_id="dr-1")
    assert receiver.drain() == 2
    _rejects_naming_the_customer(folder)
    with Workspace.open(folder) as ws:  # a checkpoint: the values move from the log into blocks
        ws.warehouse.raw_sql("CHECKPOINT")
    before = _found(folder)
    assert set(PERSONAL) <= {v for hits in before.values() for v in hits}, before
    assert any(name.startswith("privacy") for name in before), before

    assert _redact(fake, receiver.url, number).status_code == 200
    assert receiver.drain() == 1

    assert _found(folder) == {}
    row = _ledger_row(folder, number)
    assert [row[c] for c in ("email", "phone", "first_name", "last_name", "city")] == [None] * 5
    assert row["orders"] == orders_before > 0  # the orders stay, for the shop's figures
    rejects = (folder / "rejects-20261205-100000.csv").read_text()
    assert "12,34x" in rejects and "not an e-mail" not in rejects  # only their row went
    with Workspace.open(folder) as ws:
        assert waiting_erasures(ws.state) == 0


@pytest.mark.slow
def test_the_web_app_erases_while_it_serves_pages_and_keeps_serving_them(
    synced: Workspace, fake: FakeShopify
) -> None:
    folder = Path(synced.folder)
    save_secret(folder, "shopify_webhook_secret", fake.webhook_secret)
    add_user(synced.state, "manager@example.com", "correct horse", synced.settings.shop.id)
    token = create_token(synced.state, "manager@example.com", "tests")
    customer_id, number = _customer_with_personal_data(synced, fake)
    _rejects_naming_the_customer(folder)
    with serving(create_app(folder, workspace=synced)) as url:
        api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        before = api.get("/api/segments/repeat").json()["segment"]["customers"]
        hook = fake.send_webhook(f"{url}/webhooks/shopify", "customers/update",
                                 fake.rest_customer(customer_id))
        assert hook.status_code == 200
        _wait(lambda: _webhook_applied(api))
        assert _found(folder), "the values are written before the erasure"

        assert _redact(fake, f"{url}/webhooks/shopify", number).status_code == 200
        _wait(lambda: waiting_erasures(synced.state) == 0 and _webhook_applied(api))

        assert _found(folder) == {}
        # The server's connections were closed and opened again: pages and figures still work.
        assert api.get("/api/segments/repeat").json()["segment"]["customers"] == before
        assert api.get("/").status_code == 200
        api.close()


def _webhook_applied(api: httpx.Client) -> bool:
    counts = api.get("/api/webhooks").json()
    return bool(counts["pending"] == 0 and counts["applied"] >= 1)


def _wait(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_redact_waiting_in_the_queue_is_erased_by_the_daily_run(
    synced: Workspace, fake: FakeShopify, receiver: WebhookServer
) -> None:
    folder = Path(synced.folder)
    customer_id, number = _customer_with_personal_data(synced, fake)
    fake.send_webhook(receiver.url, "customers/update", fake.rest_customer(customer_id))
    assert receiver.drain() == 1
    assert _found(folder)

    assert _redact(fake, receiver.url, number).status_code == 200  # queued, not applied
    # Shopify has erased them too, so the run's sync of changed customers brings nothing back.
    fake.data.objects["customers"][customer_id].update(
        email=None, phone=None, firstName=None, lastName=None, defaultAddress=None)
    with Workspace.open(folder) as ws:
        report = ws.run()
        assert "1 applied" in " ".join(stage.detail for stage in report.stages)
        assert waiting_erasures(ws.state) == 0

    assert _found(folder) == {}


def test_an_erasure_rewrites_the_customers_table_on_each_engine(
    warehouse_url: str, tmp_path: Path
) -> None:
    """A server keeps old row versions in its own files (not in the workspace folder); the
    erasure asks PostgreSQL to rewrite the table (VACUUM FULL gives it a new file) and DuckDB
    to rewrite its file, and the values are gone from the ledger on both."""
    with Workspace.create(tmp_path / "ws", warehouse_url=warehouse_url, shop_id="demo") as ws:
        ws.import_tables(generate_store(120, seed=5, end_date=dt.date(2025, 6, 30), shop_id="demo"))
        customers = ws.warehouse.table("customers")
        first = customers.order_by("customer_id").limit(1).to_pyarrow().to_pylist()[0]
        before = _table_file(ws)
        erase_customer(ws, first["customer_id"])
        assert finish_erasures(ws) == 1
        assert _table_file(ws) != before
        customers = ws.warehouse.table("customers")  # the DuckDB file was opened again
        row = customers.filter(customers.customer_id == first["customer_id"]).to_pyarrow()
        assert row.to_pylist()[0]["email"] is None and first["email"] is not None


def _table_file(ws: Workspace) -> object:
    path = duckdb_file(ws.settings.warehouse.url)
    if path is not None:
        return path.stat().st_ino  # a new file after the rewrite
    return ws.warehouse.raw_sql("SELECT pg_relation_filenode('customers')").fetchone()[0]


def test_the_queue_forgets_deliveries_of_the_erased_customer_and_no_others(
    tmp_path: Path,
) -> None:
    """By value (their e-mail) or by their exact id; customer 12's erasure leaves customer
    123's delivery alone."""
    import json

    from segmentry.connectors.shopify.webhook_queue import WebhookQueue
    from segmentry.core.clock import utcnow
    from segmentry.store.connection import open_state_store

    engine = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    queue = WebhookQueue(engine)
    bodies = {"by-id": {"id": 12, "note": "x"}, "by-email": {"id": 55, "email": EMAIL},
              "other": {"id": 123, "email": "someone@example.jp"}}
    for webhook_id, body in bodies.items():
        queue.add({"webhook_id": webhook_id, "topic": "customers/update", "shop": "s",
                   "received_at": utcnow(), "status": "pending", "attempts": 0,
                   "body": json.dumps(body).encode()})

    assert queue.forget_mentions({EMAIL}, customer_id="12") == 2

    left = {d.webhook_id for d in queue.due()}
    assert left == {"other"}
    assert queue.counts()["failed"] == 2
