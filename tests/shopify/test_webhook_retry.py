"""Webhooks that cannot be applied yet wait and are retried; only unusable payloads fail, and
those are listed and can be queued again (issue 9, item 1)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.connectors.shopify import tables
from segmentry.connectors.shopify.webhook_server import WebhookServer
from segmentry.core.clock import utcnow
from segmentry.testing.shopify import FakeShopify

_HOLD = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
    "sys.stdin.read()"
)


@pytest.fixture
def server(synced: Workspace, fake: FakeShopify) -> Iterator[WebhookServer]:
    with WebhookServer(Path(synced.folder), fake.webhook_secret, interval=3600) as s:
        synced.close()
        yield s


@pytest.fixture
def held(synced: Workspace) -> Iterator[subprocess.Popen[str]]:
    """Another process with the warehouse open for writing (as `segmentry serve` has)."""
    path = Path(synced.folder) / "warehouse.duckdb"
    synced.close()
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    yield process
    if process.poll() is None:
        process.communicate("", timeout=30)


def _rows(ws: Workspace) -> dict[str, dict]:
    with ws.state.connect() as conn:
        rows = conn.execute(sa.select(tables.webhooks)).mappings().all()
    return {r["webhook_id"]: dict(r) for r in rows}


def _redact(fake: FakeShopify, customer: str) -> dict:
    return {
        "shop_id": 1,
        "shop_domain": fake.shop,
        "customer": {"id": int(customer.rsplit("/", 1)[-1])},
        "orders_to_redact": [],
    }


@pytest.mark.slow
def test_a_busy_warehouse_keeps_the_deliveries_and_applies_them_once_free(
    synced: Workspace,
    fake: FakeShopify,
    server: WebhookServer,
    held: subprocess.Popen[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    customer = sorted(fake.data.objects["customers"])[0]
    order_id = sorted(fake.data.objects["orders"])[0]
    fake.data.objects["orders"][order_id]["cancelledAt"] = fake.data.now()
    fake.data.objects["orders"][order_id]["updatedAt"] = fake.data.now()
    assert (
        fake.send_webhook(
            server.url, "customers/redact", _redact(fake, customer), webhook_id="r-1"
        ).status_code
        == 200
    )
    assert (
        fake.send_webhook(
            server.url, "orders/cancelled", fake.rest_order(order_id), webhook_id="o-1"
        ).status_code
        == 200
    )

    before = utcnow()
    assert server.drain() == 0  # the warehouse is open for writing in the other process
    after = utcnow()
    rows = _rows(synced)
    assert {r["status"] for r in rows.values()} == {"pending"}
    assert {r["attempts"] for r in rows.values()} == {1}
    for row in rows.values():
        assert row["body"]  # kept until applied
        assert "another process" in row["last_error"]
        waited = dt.timedelta(seconds=5)
        assert before + waited <= row["next_attempt_at"] <= after + waited
    assert server.drain() == 0  # not due yet: not tried again, nothing counted
    assert {r["attempts"] for r in _rows(synced).values()} == {1}
    assert sum("warehouse busy" in r.getMessage() for r in caplog.records) == 1

    held.communicate("", timeout=30)  # the other process ends
    time.sleep(
        max((max(r["next_attempt_at"] for r in rows.values()) - utcnow()).total_seconds(), 0) + 0.1
    )
    assert server.drain() == 2
    rows = _rows(synced)
    assert {r["status"] for r in rows.values()} == {"applied"}
    assert [r["body"] for r in rows.values()] == [None, None]
    number = customer.rsplit("/", 1)[-1]
    customers, orders = synced.warehouse.table("customers"), synced.warehouse.table("orders")
    redacted = customers.filter(customers.customer_id == number).to_pyarrow().to_pylist()
    cancelled = orders.filter(orders.order_id == order_id.rsplit("/", 1)[-1]).to_pyarrow()
    synced.close()
    assert redacted[0]["email"] is None and redacted[0]["last_name"] is None
    assert cancelled.column("cancelled_at").to_pylist()[0] is not None


def test_an_unusable_payload_fails_for_good_is_listed_and_can_be_retried(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    fake.send_webhook(server.url, "orders/updated", {}, body=b"{not json", webhook_id="bad-1")
    fake.send_webhook(
        server.url, "customers/update", {"email": "no-id@example.com"}, webhook_id="bad-2"
    )
    order_id = sorted(fake.data.objects["orders"])[1]
    fake.send_webhook(server.url, "orders/updated", fake.rest_order(order_id), webhook_id="ok")
    assert server.drain() == 1  # the good one is not held up by the bad ones
    rows = _rows(synced)
    assert (rows["ok"]["status"], rows["bad-1"]["status"], rows["bad-2"]["status"]) == (
        "applied",
        "failed",
        "failed",
    )
    assert rows["bad-1"]["error"].startswith("JSONDecodeError")
    assert rows["bad-2"]["error"].startswith("KeyError")

    runner = CliRunner()
    listed = runner.invoke(app, ["-w", str(synced.folder), "shopify", "webhooks"])
    assert listed.exit_code == 0, listed.output
    assert "failed 2" in listed.output and "applied 1" in listed.output
    assert "bad-1" in listed.output and "orders/updated" in listed.output
    assert "JSONDecodeError" in listed.output

    retried = runner.invoke(
        app, ["-w", str(synced.folder), "shopify", "webhooks", "retry", "bad-2"]
    )
    assert retried.exit_code == 0, retried.output
    assert "Queued 1 webhook(s) again" in retried.output
    rows = _rows(synced)
    assert (rows["bad-2"]["status"], rows["bad-1"]["status"]) == ("pending", "failed")
    everything = runner.invoke(
        app, ["-w", str(synced.folder), "shopify", "webhooks", "retry", "--all"]
    )
    assert "Queued 1 webhook(s) again" in everything.output


def test_the_daily_run_applies_queued_webhooks_first(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    order_id = sorted(fake.data.objects["orders"])[4]
    order = fake.rest_order(order_id)
    order.update(id=880001, admin_graphql_api_id="gid://shopify/Order/880001", name="#8801")
    fake.send_webhook(server.url, "orders/create", order, webhook_id="only-queued")
    ws = Workspace.open(synced.folder)
    try:
        report = ws.run()
        orders = ws.warehouse.table("orders")
        found = orders.filter(orders.order_id == "880001").count().to_pyarrow().as_py()
    finally:
        ws.close()
    ingest = next(s for s in report.stages if s.stage == "ingest")
    assert "webhooks: 1 applied, 0 waiting, 0 failed" in ingest.detail
    assert found == 1
    assert _rows(synced)["only-queued"]["status"] == "applied"


def test_the_daily_run_applies_deliveries_still_waiting_out_their_back_off(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    """A delivery that had to wait (the workspace was busy with a run) is due again only in
    80 s; the next run holds the lock itself and applies it now, not a day later."""
    order_id = sorted(fake.data.objects["orders"])[5]
    order = fake.rest_order(order_id)
    order.update(id=880002, admin_graphql_api_id="gid://shopify/Order/880002", name="#8802")
    fake.send_webhook(server.url, "orders/create", order, webhook_id="backing-off")
    with sa.create_engine(f"sqlite:///{Path(synced.folder) / 'state.db'}").begin() as conn:
        conn.execute(sa.update(tables.webhooks).values(
            attempts=5, last_error="LockHeldError: busy with a run",
            next_attempt_at=utcnow() + dt.timedelta(seconds=80)))
    ws = Workspace.open(synced.folder)
    try:
        ws.run()
        orders = ws.warehouse.table("orders")
        found = orders.filter(orders.order_id == "880002").count().to_pyarrow().as_py()
    finally:
        ws.close()
    assert found == 1
    assert _rows(synced)["backing-off"]["status"] == "applied"


def test_the_web_apps_webhook_job_never_collides_with_another_job(synced: Workspace) -> None:
    from segmentry.app.jobs import JobRunner, Periodic

    runner = JobRunner(synced)
    runner.start(warm=False)
    release, ran = threading.Event(), []
    try:
        runner.submit("run", lambda ws, progress: str(release.wait(30)))
        periodic = Periodic(
            runner, "webhooks", lambda ws, p: ran.append(1) or "done", lambda: True, every=3600
        )
        assert periodic.tick() is None  # a run is under way: try later
        release.set()
        deadline = time.monotonic() + 10
        while not runner.idle() and time.monotonic() < deadline:
            time.sleep(0.05)
        job = periodic.tick()
        assert job is not None and job.quiet
        runner.submit("run", lambda ws, progress: "second")  # queued behind, not refused
        while not runner.idle() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ran == [1]
        assert [j.kind for j in runner.recent()] == ["run", "run"]  # the quiet job is not listed
    finally:
        runner.stop()


def test_a_state_store_from_before_retries_gets_the_retry_columns(tmp_path: Path) -> None:
    """shopify_webhooks as the first layout made it: the columns are added, a pending row
    queued then is due now with no attempts."""
    from segmentry.connectors.shopify.webhook_queue import WebhookQueue
    from segmentry.store.connection import open_state_store

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE shopify_webhooks (webhook_id VARCHAR(100) PRIMARY KEY, topic "
                "VARCHAR(100) NOT NULL, shop VARCHAR(255) NOT NULL, event_id VARCHAR(100), "
                "triggered_at VARCHAR(40), received_at DATETIME NOT NULL, status VARCHAR(20) "
                "NOT NULL, body BLOB, error TEXT)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO shopify_webhooks VALUES ('old', 'orders/create', 's', NULL, NULL, "
                "'2026-11-30 10:00:00', 'pending', x'7b7d', NULL)"
            )
        )
    engine.dispose()
    engine = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")  # upgraded when opened
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("shopify_webhooks")}
    assert "shopify_webhooks_due" in indexes
    queue = WebhookQueue(engine)
    due = queue.due()
    assert [(d.webhook_id, d.attempts, d.body) for d in due] == [("old", 0, b"{}")]
    assert queue.counts()["pending"] == 1 and queue.counts()["retrying"] == 0
    engine.dispose()


def test_the_retry_request_is_bounded() -> None:
    """POST /api/webhooks/retry takes at most 1,000 ids of at most 100 characters each."""
    import pydantic

    from segmentry.web.routes.webhooks import RetryIn

    assert RetryIn(webhook_ids=["w-1"] * 1000).webhook_ids is not None
    for bad in (["w"] * 1001, ["x" * 101], [""]):
        with pytest.raises(pydantic.ValidationError):
            RetryIn(webhook_ids=bad)
