"""The webhook endpoints' limits, with raw sockets (issue 9, item 3): a huge body is refused
unread, a bad Content-Length is answered (not dropped), a slow client times out, too many at
once are turned away quickly, and a client's mistake never prints a traceback. Both
endpoints: ``segmentry serve-webhooks`` and the web app's ``POST /webhooks/shopify``."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.webhook_server import WebhookServer
from segmentry.core.secrets import save_secret
from segmentry.testing.http import serving
from segmentry.testing.shopify import FakeShopify
from segmentry.web import create_app
from segmentry.web.deps import LANG_COOKIE
from segmentry.web.routes.webhooks import WebhookLimits

TIMEOUT = 1.0  # the endpoints' read timeout in these tests
CONCURRENT = 2


@pytest.fixture
def receiver(synced: Workspace, fake: FakeShopify) -> Iterator[tuple[str, int]]:
    with WebhookServer(
        Path(synced.folder),
        fake.webhook_secret,
        interval=3600,
        read_timeout=TIMEOUT,
        max_concurrent=CONCURRENT,
    ) as s:
        synced.close()
        parts = urlsplit(s.url)
        yield str(parts.hostname), int(parts.port or 0)


@pytest.fixture
def web(synced: Workspace, fake: FakeShopify) -> Iterator[tuple[str, int]]:
    save_secret(Path(synced.folder), "shopify_webhook_secret", fake.webhook_secret)
    app = create_app(synced.folder, workspace=synced)
    app.state.webhook_limits = WebhookLimits(read_timeout=TIMEOUT, max_concurrent=CONCURRENT)
    with serving(app) as url:
        parts = urlsplit(url)
        yield str(parts.hostname), int(parts.port or 0)


@pytest.fixture(params=["serve-webhooks", "web app"])
def endpoint(request: pytest.FixtureRequest) -> tuple[str, int]:
    name = "receiver" if request.param == "serve-webhooks" else "web"
    address: tuple[str, int] = request.getfixturevalue(name)
    return address


def _head(length: str | None, extra: str = "") -> bytes:
    lines = [
        "POST /webhooks/shopify HTTP/1.1",
        "Host: localhost",
        "X-Shopify-Topic: orders/updated",
        "X-Shopify-Webhook-Id: w-limits",
        "X-Shopify-Hmac-Sha256: bm90LXRoZS1zaWduYXR1cmU=",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def _exchange(address: tuple[str, int], data: bytes, wait: float = 5.0) -> tuple[str, float]:
    """Send ``data``, read the response's first line; (status line, seconds it took)."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=wait) as sock:
        sock.sendall(data)
        return _status_line(sock), time.monotonic() - started


def _status_line(sock: socket.socket) -> str:
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n")[0].decode()


def test_a_huge_body_is_refused_before_it_is_read(
    endpoint: tuple[str, int], capfd: pytest.CaptureFixture[str]
) -> None:
    # 200 MB announced, nothing sent: an endpoint that reads first would wait for it.
    status, took = _exchange(endpoint, _head(str(200 * 1024 * 1024)))
    assert status.split(" ")[1] == "413" and took < 2
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(("length", "expected"), [("abc", "400"), ("-1", "400"), (None, "411")])
def test_a_bad_or_missing_content_length_is_answered(
    endpoint: tuple[str, int],
    length: str | None,
    expected: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    status, took = _exchange(endpoint, _head(length))
    assert status.split(" ")[1] == expected and took < 2
    assert "Traceback" not in capfd.readouterr().err


def test_a_client_that_stops_sending_times_out(
    endpoint: tuple[str, int], capfd: pytest.CaptureFixture[str]
) -> None:
    status, took = _exchange(endpoint, _head("100") + b'{"id": 1')  # 8 of 100 bytes
    assert status.split(" ")[1] == "408"
    assert TIMEOUT * 0.9 <= took < TIMEOUT + 3
    assert "Traceback" not in capfd.readouterr().err


def test_more_deliveries_than_allowed_at_once_are_turned_away_quickly(
    endpoint: tuple[str, int],
) -> None:
    slow = [socket.create_connection(endpoint, timeout=5) for _ in range(CONCURRENT)]
    try:
        for sock in slow:  # each holds a slot: its body never comes
            sock.sendall(_head("100"))
        time.sleep(0.3)
        started = time.monotonic()
        with socket.create_connection(endpoint, timeout=5) as extra:
            extra.sendall(_head("2") + b"{}")
            data = b""
            while chunk := extra.recv(4096):
                data += chunk
                if b"\r\n\r\n" in data:
                    break
        took = time.monotonic() - started
        assert data.split(b"\r\n")[0].split(b" ")[1] == b"503" and took < TIMEOUT * 0.9
        assert b"retry-after: 5" in data.lower()
    finally:
        for sock in slow:
            sock.close()


def test_the_web_app_shows_failed_deliveries_in_both_languages(
    synced: Workspace, fake: FakeShopify, web: tuple[str, int]
) -> None:
    import httpx

    from segmentry.web.accounts import add_user, create_token

    add_user(synced.state, "m@example.com", "correct horse", synced.settings.shop.id)
    headers = {"Authorization": f"Bearer {create_token(synced.state, 'm@example.com', 't')}"}
    base = f"http://{web[0]}:{web[1]}"
    sent = fake.send_webhook(
        f"{base}/webhooks/shopify", "orders/create", {}, body=b"[1, 2]", webhook_id="not-an-object"
    )
    assert (sent.status_code, sent.text) == (200, "queued")
    deadline, status = time.monotonic() + 30, {}
    while time.monotonic() < deadline and not status.get("failed"):
        status = httpx.get(f"{base}/api/webhooks", headers=headers).json()
        time.sleep(0.2)
    assert (status["failed"], status["pending"]) == (1, 0)
    failed = status["failed_webhooks"][0]
    assert (failed["webhook_id"], failed["topic"]) == ("not-an-object", "orders/create")
    assert failed["error"].startswith("TypeError")
    pages = {
        lang: httpx.get(f"{base}/runs", headers={**headers, "Cookie": f"{LANG_COOKIE}={lang}"}).text
        for lang in ("ja", "en")
    }
    assert "Shopify Webhook" in pages["ja"] and "失敗した通知を再試行" in pages["ja"]
    assert "Try the failed deliveries again" in pages["en"]
    assert all("not-an-object" in page for page in pages.values())


def test_a_large_signed_order_is_accepted_by_both_endpoints(
    endpoint: tuple[str, int], fake: FakeShopify
) -> None:
    """An order with many lines is far over the web app's 16 KB cap for anonymous bodies; the
    webhook endpoint caps its own bodies (5 MB) and authenticates by signature."""
    order_id = sorted(fake.data.objects["orders"])[0]
    payload = fake.rest_order(order_id)
    payload["note"] = "長い備考" * 10_000  # about 120 KB of UTF-8
    host, port = endpoint
    answer = fake.send_webhook(f"http://{host}:{port}/webhooks/shopify", "orders/updated", payload)
    assert answer.status_code == 200, answer.text
