"""``segmentry privacy export`` and ``erase`` by hand, on the tiny shop after an e-mail send:
the export holds every row the workspace has on the customer (the fixture's values, written
out by hand in messaging/conftest.py), the erase leaves no byte of them, and an unknown id is
refused with its name."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from segmentry.app.messaging.sending import send
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.store import unsubscriptions

from .conftest import Mailbox
from .test_erasure import HANAKO, NOON, _channel, _found, _request

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_export_then_erase_by_hand(shop: Workspace, smtp: tuple[Mailbox, int]) -> None:
    _, port = smtp
    sent = send(shop, _channel(port), _request(shop, "news"), now=lambda: NOON)
    with shop.state.begin() as conn:
        unsubscriptions.record(conn, HANAKO[0], "m1", "page", at=NOON)
    folder = str(shop.folder)
    shop.close()

    code, output = _run("privacy", "export", "m1", "-w", folder)
    assert code == 0, output
    (path,) = (Path(folder) / "privacy").glob("data_request_m1_manual-*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    ledger, workspace = data["ledger"], data["workspace"]
    (customer,) = ledger["customers"]
    assert (customer["last_name"], customer["first_name"], customer["email"],
            customer["line_user_id"]) == ("山田", "花子", HANAKO[0], HANAKO[3])
    assert [o["name"] for o in ledger["orders"]] == ["#1001"]
    assert [(li["title"], li["quantity"]) for li in ledger["order_lines"]] == [("美容液", 1)]
    (message,) = workspace["outbox"]
    assert (message["send_id"], message["address"], message["status"]) == (
        sent.send_id, HANAKO[0], "delivered")
    assert message["subject"] == "山田 花子 様へ"
    assert [u["email"] for u in workspace["unsubscriptions"]] == [HANAKO[0]]
    assert "outbox: 1 row(s)" in output and "orders: 1 row(s)" in output
    # nobody else's rows: m4 also got the send
    assert "alice@example.com" not in path.read_text(encoding="utf-8")

    code, output = _run("privacy", "erase", "m1", "--yes", "-w", folder)
    assert code == 0, output
    assert "personal data erased." in output
    assert _found(Path(folder)) == set()  # the export above went too
    with Workspace.open(Path(folder)) as ws:
        customers = ws.warehouse.table("customers")
        row = customers.filter(customers.customer_id == "m1").to_pyarrow().to_pylist()[0]
        assert (row["email"], row["last_name"]) == (None, None)
        orders = ws.warehouse.table("orders")
        assert orders.filter(orders.customer_id == "m1").count().execute() == 1  # kept

    code, output = _run("privacy", "export", "nobody", "-w", folder)
    assert code == 1 and "There is no customer 'nobody'" in output


def test_the_export_names_the_time_it_was_made(shop: Workspace) -> None:
    folder = str(shop.folder)
    shop.close()
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    assert _run("privacy", "export", "m4", "-w", folder)[0] == 0
    (path,) = (Path(folder) / "privacy").glob("data_request_m4_*.json")
    made = dt.datetime.fromisoformat(json.loads(path.read_text("utf-8"))["made_at"])
    assert before <= made <= before + dt.timedelta(minutes=5)
