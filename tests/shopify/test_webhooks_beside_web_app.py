"""Webhooks while the web app is up (issue 9, item 1), as a shop runs it: `segmentry serve`
owns the warehouse, `segmentry serve-webhooks` receives beside it, both in their own processes.
Nothing is lost: the web app applies what either of them received."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from segmentry.app.workspace import Workspace
from segmentry.core.secrets import save_secret
from segmentry.testing.http import free_port
from segmentry.testing.shopify import FakeShopify
from segmentry.web.accounts import add_user, create_token

_CLI = "from segmentry.cli.main import main; main()"


def _start(folder: Path, *args: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _CLI, "-w", str(folder), *args, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)


@pytest.fixture
def processes(synced: Workspace, fake: FakeShopify, tmp_path: Path) -> Iterator[dict]:
    folder = Path(synced.folder)
    save_secret(folder, "shopify_webhook_secret", fake.webhook_secret)
    add_user(synced.state, "manager@example.com", "correct horse", synced.settings.shop.id)
    token = create_token(synced.state, "manager@example.com", "tests")
    synced.close()
    web_port, hooks_port = free_port(), free_port()
    logs = {"web": tmp_path / "serve.log", "hooks": tmp_path / "serve-webhooks.log"}
    web = _start(folder, "serve", port=web_port, log=logs["web"])
    hooks = _start(folder, "serve-webhooks", port=hooks_port, log=logs["hooks"])

    def stop() -> None:
        for process in (hooks, web):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (hooks, web):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    try:
        yield {
            "web": f"http://127.0.0.1:{web_port}",
            "token": token,
            "logs": logs,
            "hooks": f"http://127.0.0.1:{hooks_port}/webhooks/shopify",
            "stop": stop,
        }
    finally:
        stop()


def _status(processes: dict) -> dict:
    headers = {"Authorization": f"Bearer {processes['token']}"}
    response = httpx.get(f"{processes['web']}/api/webhooks", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.slow
def test_deliveries_received_beside_the_web_app_are_applied_by_it(
    synced: Workspace, fake: FakeShopify, processes: dict
) -> None:
    customer = sorted(fake.data.objects["customers"])[0]
    number = customer.rsplit("/", 1)[-1]
    order_id = sorted(fake.data.objects["orders"])[0]
    fake.data.objects["orders"][order_id]["cancelledAt"] = fake.data.now()
    fake.data.objects["orders"][order_id]["updatedAt"] = fake.data.now()
    new_order = fake.rest_order(sorted(fake.data.objects["orders"])[1])
    new_order.update(id=990001, admin_graphql_api_id="gid://shopify/Order/990001", name="#9901")
    redact = {
        "shop_id": 1,
        "shop_domain": fake.shop,
        "customer": {"id": int(number)},
        "orders_to_redact": [],
    }

    sent = [
        fake.send_webhook(processes["hooks"], "customers/redact", redact, webhook_id="redact"),
        fake.send_webhook(
            processes["hooks"], "orders/cancelled", fake.rest_order(order_id), webhook_id="cancel"
        ),
        # The web app receives too, at its own address (no sign-in: the signature).
        fake.send_webhook(
            f"{processes['web']}/webhooks/shopify", "orders/create", new_order, webhook_id="create"
        ),
    ]
    assert [(r.status_code, r.text) for r in sent] == [(200, "queued")] * 3
    bad = fake.send_webhook(
        f"{processes['web']}/webhooks/shopify",
        "orders/create",
        new_order,
        secret="wrong",
        webhook_id="forged",
    )
    assert bad.status_code == 401

    deadline, status = time.monotonic() + 60, {}
    while time.monotonic() < deadline:
        status = _status(processes)
        if status["applied"] == 3:
            break
        time.sleep(0.5)
    assert (status["applied"], status["pending"], status["failed"]) == (3, 0, 0), status

    hooks_log = processes["logs"]["hooks"].read_text()
    assert hooks_log.count("warehouse busy") <= 1 and "Traceback" not in hooks_log
    page = httpx.get(
        f"{processes['web']}/runs",
        timeout=10,
        headers={"Authorization": f"Bearer {processes['token']}"},
    )
    assert page.status_code == 200 and 'data-count="applied">3<' in page.text

    processes["stop"]()  # the warehouse is free again: look at the ledger
    ws = Workspace.open(synced.folder)
    try:
        customers, orders = ws.warehouse.table("customers"), ws.warehouse.table("orders")
        redacted = customers.filter(customers.customer_id == number).to_pyarrow().to_pylist()
        ids = {order_id.rsplit("/", 1)[-1], "990001"}
        rows = {
            r["order_id"]: r
            for r in orders.filter(orders.order_id.isin(ids)).to_pyarrow().to_pylist()
        }
    finally:
        ws.close()
    assert redacted and redacted[0]["email"] is None and redacted[0]["first_name"] is None
    assert set(rows) == ids
    assert rows[order_id.rsplit("/", 1)[-1]]["cancelled_at"] is not None
