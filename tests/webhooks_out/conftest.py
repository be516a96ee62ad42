"""A real webhook receiver on loopback (``ThreadingHTTPServer`` in a thread) that checks every
signature itself, and the messaging tests' tiny shop with ``[[webhooks]]`` pointing at it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from messaging.conftest import DAY, shop_tables
from segmentry.app.workspace import Workspace
from segmentry.core.config import WebhookSettings
from segmentry.core.secrets import save_secret
from segmentry.ledger.store import arrow_schema

SECRET = "whsec-テスト-123"


@dataclass
class Seen:
    """One request the receiver took: its headers, raw body and parsed JSON."""

    headers: dict[str, str]
    body: bytes
    json: dict[str, Any]
    answered: int


@dataclass
class Receiver:
    """Answers each POST with the next of ``script`` (a status, or ``"slow"``: no answer for a
    second), then 200; a bad signature gets 401 whatever the script says."""

    url: str = ""
    secret: str = SECRET
    script: list[int | str] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def good(self) -> list[Seen]:
        return [s for s in self.seen if s.answered == 200]

    def answer(self, headers: dict[str, str], body: bytes) -> int | str:
        timestamp = headers.get("x-segmentry-timestamp", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body,
                                        hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        with self.lock:
            planned = self.script.pop(0) if self.script else 200
            if not (fresh and hmac.compare_digest(expected,
                                                  headers.get("x-segmentry-signature", ""))):
                planned = 401
            status = 200 if planned == "slow" else planned
            self.seen.append(Seen(headers, body, json.loads(body), int(status)))
        return planned


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.answer({k.lower(): v for k, v in self.headers.items()}, body)
            if status == "slow":
                time.sleep(1.0)
                status = 200
            self.send_response(int(status))
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no thanks")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/segmentry"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def shop(tmp_path: Path, receiver: Receiver) -> Iterator[Workspace]:
    """The messaging tests' shop computed through :data:`DAY`, with the segments ``repeaters``
    (two orders or more) and ``once`` (exactly one), and the receiver ``crm`` (its secret in
    the workspace's secrets file)."""
    ws = Workspace.create(tmp_path / "shop")
    ws.import_tables(shop_tables())
    ws.run(DAY)
    ws.add_segment("repeaters", "number_of_orders >= 2")
    ws.add_segment("once", "number_of_orders = 1")
    save_secret(Path(ws.folder), "webhook_crm", SECRET)
    ws.settings.webhooks = [WebhookSettings(name="crm", url=receiver.url, timeout=0.5)]
    try:
        yield ws
    finally:
        ws.close()


def second_orders(*customers: str, day: dt.date) -> dict[str, Any]:
    """Ledger tables with one more order (¥1,000, noon in Tokyo on ``day``) per customer."""
    at = dt.datetime.combine(day, dt.time(3, 0))
    rows = [{"shop_id": "shop", "order_id": f"o-{c}-2", "customer_id": c, "name": f"#2{c}",
             "processed_at": at, "currency": "JPY", "subtotal": Decimal(1000),
             "discounts": Decimal(0), "shipping": Decimal(0), "tax": Decimal(0),
             "total": Decimal(1000), "refunded": Decimal(0), "source_name": "web",
             "channel": "direct"} for c in customers]
    schema = arrow_schema("orders", local_dates=False)
    return {"orders": pa.Table.from_pylist(
        rows, schema=pa.schema([schema.field(c) for c in rows[0]]))}
